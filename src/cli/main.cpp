// scaleplan: the command-line entry point. Everything but the process lives in cli/commands.
#include <exception>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  try {
    return scaleplan::cli::Run(argc, argv, std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "scaleplan: internal error: " << e.what() << "\n";
    return 1;
  }
}
