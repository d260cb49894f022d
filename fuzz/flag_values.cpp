// Flag values read outside the schema: numbers, --synthetic corpus specs and search ranges. The
// first byte picks the reader.
#include "balance/balance.h"
#include "core/text.h"
#include "fuzz/fuzz_check.h"
#include "search/space.h"
#include "spec/readers.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string text(fuzz::AsText(data + 1, size - 1));
  switch (data[0] % 4) {
    case 0: {
      Result<double> number = ParseNumber(text);
      fuzz::CheckError(number);
      if (number.ok()) fuzz::CheckFinite(*number, "ParseNumber");
      fuzz::CheckError(ParseInteger(text));
      fuzz::CheckError(ParseBool(text));
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
