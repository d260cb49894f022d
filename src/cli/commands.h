// The `scaleplan` command. Run() is main() without the process: it takes the arguments and the
// two output streams and returns the exit status (0 success, 2 bad input, 1 failure writing
// output), so that scenario tests can drive it in-process. The commands themselves are in
// cli/command.h, one file each.
#pragma once

#include <ostream>

#include "core/processes.h"

namespace scaleplan::cli {

// `processes`: the ranks mpirun started (mpi/mpi.h), nullptr when alone; only rank 0 prints the
// report, the others only their errors ("rank N: ...").
int Run(int argc, const char* const* argv, std::ostream& out, std::ostream& err,
        const Processes* processes = nullptr);

}  // namespace scaleplan::cli
