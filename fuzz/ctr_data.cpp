// Click data inputs (rec/synthetic.h, rec/criteo.h, rec/movielens.h): the first byte picks the
// reader, the rest is the file. An accepted synthetic spec small enough is generated (its true
// probabilities in (0, 1), its data consistent); accepted Criteo or MovieLens text gives
// consistent data with finite features.
#include <cmath>
#include <sstream>

#include "fuzz/fuzz_check.h"
#include "rec/criteo.h"
#include "rec/movielens.h"
#include "rec/synthetic.h"

using namespace scaleplan;

namespace {

void CheckCtr(const rec::CtrData& data) {
  Status ok = rec::CheckData(data);
  if (!ok.ok()) fuzz::Fail("data", ok.message());
  for (const rec::CtrSplit* s : {&data.train, &data.valid, &data.test}) {
    for (float v : s->dense) fuzz::CheckFinite(v, "dense feature");
    for (double p : s->prob) {
      if (!(p > 0 && p < 1)) fuzz::Fail("prob", "a true probability outside (0, 1)");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(fuzz::AsText(data + 1, size - 1));
  switch (data[0] % 3) {
    case 0: {
      Result<rec::SyntheticSpec> spec = rec::ParseSyntheticSpec(text, "spec.yaml");
      fuzz::CheckError(spec);
      if (!spec.ok()) return 0;
      // Generation time grows with the examples and the tables.
      spec->train = std::min<int64_t>(spec->train, 200);
      spec->valid = std::min<int64_t>(spec->valid, 50);
      spec->test = std::min<int64_t>(spec->test, 50);
      int64_t rows = 0;
      for (const auto& f : spec->sparse) rows += f.cardinality;
      if (rows > 100000 || spec->effects.size() > 20) return 0;
      Result<rec::CtrData> d = rec::GenerateSynthetic(*spec, "fuzz");
      fuzz::CheckError(d);
      if (d.ok()) CheckCtr(*d);
      return 0;
    }
    case 1: {
      std::istringstream in(text);
      rec::CriteoOptions o;
      o.max_examples = 1000;
      o.table_rows = 97;
      o.skip_bad_lines = size % 2 == 0;
      Result<rec::CtrData> d = rec::ReadCriteoStream(in, "day.tsv", o);
      fuzz::CheckError(d);
      if (d.ok()) CheckCtr(*d);
      return 0;
    }
    default: {
      std::istringstream in(text);
      Result<rec::CtrData> d = rec::ReadMovieLensStream(in, "ml.csv", 1000, size % 2 == 0);
      fuzz::CheckError(d);
      if (d.ok()) CheckCtr(*d);
      return 0;
    }
  }
}
