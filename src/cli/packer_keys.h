// The packer's keys as flags (balance::PackerSchema), shared by pack and simulate --packer.
#pragma once

#include <string>

#include "balance/balance.h"
#include "cli/options.h"
#include "core/status.h"

namespace scaleplan::cli {

// balance::CheckGivenPackerKeys on the flags given.
Status PackerKeysApply(const Options<balance::PackerOptions>& given, const std::string& packer);

}  // namespace scaleplan::cli
