// MPI behind scaleplan's Processes (core/processes.h): built only with -DSCALEPLAN_MPI=ON (Open MPI
// from Debian's libopenmpi-dev). A process joins MPI only when an MPI launcher started it, so the
// same binary run by hand never touches MPI.
#pragma once

#include <memory>

#include "core/processes.h"

namespace scaleplan::mpi {

// The world of ranks `mpirun` started this process in (MPI initialised, one thread calling MPI);
// nullptr when no launcher started it. Finalises MPI when destroyed.
Result<std::unique_ptr<Processes>> JoinIfLaunched(int* argc, char*** argv);

// Ends every rank at once with `exit_status` (MPI_Abort): what a rank that fails must do, since
// the others may be waiting for it in a collective.
[[noreturn]] void AbortAll(int exit_status);

}  // namespace scaleplan::mpi
