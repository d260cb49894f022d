// scaleplan: the command-line entry point. Everything but the process lives in cli/commands.
#include <exception>
#include <iostream>

#include "cli/commands.h"
#include "core/text.h"

int main(int argc, char** argv) {
  try {
    return scaleplan::cli::Run(argc, argv, std::cout, std::cerr);
  } catch (const std::exception& e) {
    // Not reached by any known input (the fuzzers check that); kept so that a bug ends cleanly.
    std::cerr << "scaleplan: internal error: " << scaleplan::Printable(e.what(), 2000) << "\n";
    return 1;
  }
}
