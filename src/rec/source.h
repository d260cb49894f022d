// Where a ranking model's data comes from, as one reference:
//   synthetic            the embedded default spec (rec/synthetic.h)
//   synthetic:NAME|FILE  an embedded spec (default, heldout, fresh, criteo-shaped) or a spec file
//   criteo:FILE          a Criteo TSV file (rec/criteo.h)
//   movielens:FILE       MovieLens ratings exported by scripts/export-movielens.sh
//                        (rec/movielens.h): rating >= 4 is a click
// FILE "-" is standard input (a pipe, or a redirected file from where it stands).
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "rec/data.h"
#include "rec/synthetic.h"
#include "spec/schema.h"

namespace scaleplan::rec {

struct DataOptions {
  std::string data = "synthetic";
  int64_t max_examples = 1'000'000;  // criteo, movielens: good lines kept
  int64_t table_rows = 100'000;      // criteo: rows of every hashed table
  bool skip_bad_lines = false;
};
const spec::Schema<DataOptions>& DataOptionsSchema();

struct LoadedData {
  CtrData data;
  std::optional<SyntheticSpec> spec;               // synthetic data only
  std::optional<Metrics> bayes_valid, bayes_test;  // the true probabilities' (synthetic only)
};

Result<LoadedData> LoadData(const DataOptions& options);

}  // namespace scaleplan::rec
