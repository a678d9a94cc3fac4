// tccp-tunnel: forward a running job's ports to localhost.
#include "tccp/tools/tunnel_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::tunnel_main(argc, argv);
}
