// tccp-launch: see lib/tccp/tools/launch_tool.hpp.
#include "tccp/tools/launch_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::launch_main(argc, argv);
}
