#pragma once
// Where and how the model runs: device, compute dtype, CPU threads.
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <string>

namespace basis {

struct RunOptions {
    std::string device = "auto";    // auto | cpu | cuda | cuda:N
    std::string dtype = "float32";  // float32 | bfloat16
    int threads = 0;                // 0 = all hardware threads
};

// Throws basis::Error for an unknown name, or cuda when this LibTorch has no CUDA.
c10::Device resolveDevice(const std::string& name);
c10::ScalarType resolveDType(const std::string& name);
bool cudaAvailable();
int cudaDeviceCount();

// Sets LibTorch's intra-op threads (it defaults to 1 here); returns the count in force.
int applyThreads(int requested);

} // namespace basis
