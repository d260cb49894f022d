// scaleplan: the command-line entry point. Everything but the process lives in cli/commands.
// Started by mpirun (a build with -DSCALEPLAN_MPI=ON), the process joins its ranks first
// (mpi/mpi.h); a rank that fails ends them all, since the others may be waiting for it, and all
// end with a collective, so that ranks which did not compute the same thing fail instead of hang.
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/commands.h"
#include "core/processes.h"
#include "core/text.h"
#ifdef SCALEPLAN_MPI
#include "mpi/mpi.h"
#endif

int main(int argc, char** argv) {
  std::unique_ptr<scaleplan::Processes> processes;
#ifdef SCALEPLAN_MPI
  scaleplan::Result<std::unique_ptr<scaleplan::Processes>> joined =
      scaleplan::mpi::JoinIfLaunched(&argc, &argv);
  if (!joined.ok()) return scaleplan::cli::Fail(std::cerr, joined.status());
  processes = std::move(joined).value();
#else
  if (const int64_t launched = scaleplan::LaunchedProcessCount(); launched > 1) {
    std::cerr
        << "scaleplan: error: started as one of " << launched
        << " processes by an MPI launcher, but this scaleplan was built without MPI (allowed: "
           "one process, or a build with cmake -DSCALEPLAN_MPI=ON; each copy would do the "
           "whole work; SCALEPLAN_ONE_PROCESS=1 runs this one alone)\n";
    return scaleplan::cli::kExitBadInput;
  }
#endif
  int status = 1;
  try {
    status = scaleplan::cli::Run(argc, argv, std::cout, std::cerr, processes.get());
  } catch (const std::exception& e) {
    // Not reached by any known input (the fuzzers check that); kept so that a bug ends cleanly.
    std::cerr << "scaleplan: internal error: " << scaleplan::Printable(e.what(), 2000) << "\n";
  }
#ifdef SCALEPLAN_MPI
  if (processes != nullptr && processes->size() > 1) {
    // The last collective: a rank still gathering meets this one in an error, not a hang.
    if (status == 0) {
      scaleplan::Result<std::vector<std::string>> end = processes->AllGather("end", "");
      if (!end.ok()) {
        std::cerr << "scaleplan: error: rank " << processes->rank() << ": "
                  << scaleplan::Printable(end.status().message(), 2000) << "\n";
        status = scaleplan::cli::kExitBadInput;
      }
    }
    if (status != 0) {
      std::cout.flush();
      std::cerr.flush();
      scaleplan::mpi::AbortAll(status);
    }
  }
#endif
  return status;
}
