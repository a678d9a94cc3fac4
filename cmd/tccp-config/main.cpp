// tccp-config: resolve, validate and scaffold tccp.yaml.
#include "tccp/tools/config_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::config_main(argc, argv);
}
