// The packer's keys as flags (balance::PackerSchema), shared by pack and simulate --packer.
#pragma once

#include <string>

#include "balance/balance.h"
#include "cli/options.h"
#include "core/status.h"

namespace scaleplan::cli {

// Keys given where the packer would not read them are refused: max_mean_delay and adapt_window
// apply to the adaptive wlb packer (wlb without thresholds), max_wait to wlb.
Status PackerKeysApply(const Options<balance::PackerOptions>& given, const std::string& packer);

}  // namespace scaleplan::cli
