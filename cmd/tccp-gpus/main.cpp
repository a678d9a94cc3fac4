// tccp-gpus: GPU availability by partition and node, and the GPU guide.
#include "tccp/tools/gpus_tool.hpp"

int main(int argc, char** argv) {
  return tccp::tools::gpus_main(argc, argv);
}
