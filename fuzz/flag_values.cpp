// Flag values: numbers (and scale's --counts), --synthetic corpus specs, search ranges and pins, and the command options
// the libraries define as schemas (packer, search, explore, validate): "key=value" set through
// the schema, then the library's own check. The first byte picks the reader.
#include "balance/balance.h"
#include "balance/study.h"
#include "core/text.h"
#include "explore/explore.h"
#include "explore/scale.h"
#include "fuzz/fuzz_check.h"
#include "search/search.h"
#include "search/space.h"
#include "spec/readers.h"
#include "validate/validate.h"

namespace {

// Sets "key=value" in a default T through `schema`; an accepted value must pass the schema's own
// bounds check (what the library checks again).
template <class T>
void SetOption(const scaleplan::spec::Schema<T>& schema, const std::string& text) {
  size_t eq = text.find('=');
  if (eq == std::string::npos) return;
  T options{};
  scaleplan::Status set =
      schema.Set(options, text.substr(0, eq), scaleplan::spec::ScalarValue(text.substr(eq + 1), "--flag"));
  scaleplan::fuzz::CheckError(set);
  if (set.ok() && !schema.CheckValues(options).ok() && !schema.CheckBounds(options).ok()) {
    scaleplan::fuzz::Fail("a value the schema set fails its bounds", text);
  }
}

}  // namespace

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string text(fuzz::AsText(data + 1, size - 1));
  switch (data[0] % 8) {
    case 0: {
      Result<double> number = ParseNumber(text);
      fuzz::CheckError(number);
      if (number.ok()) fuzz::CheckFinite(*number, "ParseNumber");
      fuzz::CheckError(ParseInteger(text));
      fuzz::CheckError(ParseBool(text));
      // scale --counts
      Result<std::vector<int64_t>> counts =
          explore::ParseCounts(spec::ScalarValue(text, "--counts"));
      fuzz::CheckError(counts);
      if (counts.ok()) {
        for (int64_t n : *counts) {
          if (n < 1 || n > spec::kMaxRanks) fuzz::Fail("scale count", std::to_string(n));
        }
      }
      break;
    }
    case 1: {
      Result<std::vector<int64_t>> lengths = balance::Synthetic(text, 64, 8192, 7);
      fuzz::CheckError(lengths);
      if (lengths.ok()) {
        for (int64_t length : *lengths) {
          if (length < 1 || length > 8192) fuzz::Fail("synthetic length", std::to_string(length));
        }
      }
      break;
    }
    case 4: {
      SetOption(balance::PackerSchema(), text);
      size_t eq = text.find('=');
      if (eq != std::string::npos) {
        balance::PackerOptions o;
        if (balance::PackerSchema().Set(o, text.substr(0, eq), spec::ScalarValue(text.substr(eq + 1), "")).ok()) {
          fuzz::CheckError(balance::MakePacker("wlb", o, balance::WorkloadModel{}));
        }
      }
      fuzz::CheckError(balance::ParseLengthList(text, "--tune"));
      break;
    }
    case 5:
      SetOption(search::SearchOptionsSchema(), text);
      SetOption(explore::ExploreOptionsSchema(), text);
      SetOption(validate::OptionsSchema(), text);
      break;
    case 6: {
      static const spec::JobSpec job = *spec::LoadJob("llama3-405b-16k");
      size_t eq = text.find('=');
      if (eq == std::string::npos) return 0;
      Result<search::PinnedSearch> pinned =
          search::ApplyPins(job, {{text.substr(0, eq), text.substr(eq + 1), "--flag"}});
      fuzz::CheckError(pinned);
      break;
    }
    default: {
      static const spec::JobSpec job = *spec::LoadJob("llama3-405b-16k");
      search::SearchSpace space = search::DefaultSpace(job);
      size_t eq = text.find('=');
      if (eq == std::string::npos) return 0;
      fuzz::CheckError(search::Restrict(space, text.substr(0, eq), text.substr(eq + 1), "--flag"));
    }
  }
  return 0;
}
