#include "rec/source.h"

#include <fmt/format.h>

#include "core/text.h"
#include "rec/criteo.h"
#include "rec/movielens.h"

namespace scaleplan::rec {

const spec::Schema<DataOptions>& DataOptionsSchema() {
  static const spec::Schema<DataOptions> schema = [] {
    using D = DataOptions;
    spec::Schema<D> s("data");
    s.Text("data", &D::data,
           "synthetic[:NAME|FILE] (embedded specs: default, heldout, fresh, criteo-shaped), "
           "criteo:FILE or "
           "movielens:FILE (FILE - : standard input, a pipe or a redirected file)")
        .Integer("max_examples", &D::max_examples, 3, kMaxExamples, "",
                 "criteo, movielens: lines kept (the first good ones)")
        .Integer("table_rows", &D::table_rows, 1, kMaxTableRows, "",
                 "criteo: rows of every hashed embedding table")
        .Boolean("skip_bad_lines", &D::skip_bad_lines,
                 "criteo, movielens: skip and count bad lines instead of stopping at the first");
    return s;
  }();
  return schema;
}

Result<LoadedData> LoadData(const DataOptions& options) {
  const std::string& ref = options.data;
  const size_t colon = ref.find(':');
  const std::string kind = ref.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : ref.substr(colon + 1);
  LoadedData out;
  const bool file_data = (kind == "criteo" || kind == "movielens") && !rest.empty();
  if ((kind != "synthetic" && !file_data) ||
      (kind == "synthetic" && colon != std::string::npos && rest.empty())) {
    return Status::Invalid(fmt::format(
        "--data = {} (allowed: synthetic, synthetic:NAME or FILE, criteo:FILE, movielens:FILE; "
        "FILE - is standard input)",
        Printable(ref, 200)));
  }
  // An option the data source does not read is refused, not ignored (an option given at its
  // default value is not told apart from one not given).
  const DataOptions defaults;
  auto unread = [&](const char* flag, const char* readers) {
    return Status::Invalid(fmt::format("{} does not apply to --data = {} (allowed: {} data only)",
                                       flag, Printable(ref, 200), readers));
  };
  if (kind != "criteo" && kind != "movielens") {
    if (options.max_examples != defaults.max_examples) {
      return unread("--max-examples", "criteo or movielens");
    }
    if (options.skip_bad_lines) return unread("--skip-bad-lines", "criteo or movielens");
  }
  if (kind != "criteo" && options.table_rows != defaults.table_rows) {
    return unread("--table-rows", "criteo");
  }
  if (kind == "synthetic") {
    const std::string name = rest.empty() ? "default" : rest;
    SP_ASSIGN_OR_RETURN(SyntheticSpec spec, LoadSyntheticSpec(name));
    SP_ASSIGN_OR_RETURN(out.data, GenerateSynthetic(spec, "synthetic:" + name));
    out.bayes_valid = BayesMetrics(out.data.valid);
    out.bayes_test = BayesMetrics(out.data.test);
    out.spec = std::move(spec);
    return out;
  }
  if (kind == "criteo") {
    CriteoOptions c;
    c.max_examples = options.max_examples;
    c.table_rows = options.table_rows;
    c.skip_bad_lines = options.skip_bad_lines;
    SP_ASSIGN_OR_RETURN(out.data, ReadCriteo(rest, c));
  } else {
    SP_ASSIGN_OR_RETURN(out.data,
                        ReadMovieLens(rest, options.max_examples, options.skip_bad_lines));
  }
  return out;
}

}  // namespace scaleplan::rec
