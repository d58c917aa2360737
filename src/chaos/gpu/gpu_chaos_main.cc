// llmrca-gpu-chaos: see gpu_chaos_tool.h.
#include <iostream>
#include <string>
#include <vector>

#include "chaos/gpu/gpu_chaos_tool.h"

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  return llmrca::chaos::gpu::RunGpuChaosTool(args, std::cout, std::cerr);
}
