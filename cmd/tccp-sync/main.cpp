// tccp-sync: push the project, pull output back (lib/tccp/tools/sync_tool.cpp).
#include "tccp/tools/sync_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::sync_main(argc, argv);
}
