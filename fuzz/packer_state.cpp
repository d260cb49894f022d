// Saved packer state (balance/balance.h RestoreState): any JSON restores whole or is refused, and
// the packer keeps working either way.
#include <nlohmann/json.hpp>

#include "balance/balance.h"
#include "fuzz/fuzz_check.h"

using namespace scaleplan;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json state = nlohmann::json::parse(fuzz::AsText(data, size), nullptr, false);
  if (state.is_discarded()) return 0;
  balance::PackerOptions options;
  options.microbatches = 4;
  options.context = 4096;
  Result<std::unique_ptr<balance::Packer>> packer = balance::MakePacker("wlb", options, balance::WorkloadModel{});
  if (!packer.ok()) fuzz::Fail("wlb packer", packer.status().message());
  fuzz::CheckError((*packer)->RestoreState(state));
  std::vector<balance::Document> batch;
  for (int64_t i = 0; i < 32; ++i) batch.push_back({i, 64 + (i * 977) % 4000, 0});
  for (int64_t iteration = 0; iteration < 3; ++iteration) (*packer)->Pack(batch, iteration);
  return 0;
}
