// tccp-connect: the one authenticated SSH connection per cluster.
#include "tccp/tools/connect_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::connect_main(argc, argv);
}
