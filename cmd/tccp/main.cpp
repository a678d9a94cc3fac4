// tccp: the dispatcher and the tccp> prompt.
#include "tccp/cli/dispatch.hpp"

int main(int argc, char** argv) {
  return tccp::cli::dispatch_main(argc, argv);
}
