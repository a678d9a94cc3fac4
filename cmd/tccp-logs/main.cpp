// tccp-logs: see lib/tccp/tools/logs_tool.hpp.
#include "tccp/tools/logs_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::logs_main(argc, argv);
}
