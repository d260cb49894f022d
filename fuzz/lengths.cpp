// Document length files (balance/balance.h): a JSON list, one integer per line, or a Megatron-LM
// .idx index. Accepted lengths are at least 1.
#include "balance/balance.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Result<std::vector<int64_t>> lengths = balance::ParseLengths(fuzz::AsText(data, size), "lengths");
  fuzz::CheckError(lengths);
  if (lengths.ok()) {
    for (int64_t length : *lengths) {
      if (length < 1) fuzz::Fail("accepted a length below 1", std::to_string(length));
    }
  }
  return 0;
}
