// tccp-alloc: see lib/tccp/tools/alloc_tool.hpp.
#include "tccp/tools/alloc_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::alloc_main(argc, argv);
}
