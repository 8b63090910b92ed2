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
    // Where the layers' weights live: "device" (all on the compute device) or "host" (on the CPU as loaded,
    // memory-mapped as stored; each layer is copied to the device for its turn, decoder_model.h), for a model
    // whose weights do not fit in the GPU's memory.
    std::string weights = "device";
};

// Throws basis::Error for an unknown name, or cuda when this LibTorch has no CUDA.
c10::Device resolveDevice(const std::string& name);
c10::ScalarType resolveDType(const std::string& name);
// True for "host", false for "device"; throws basis::Error naming the value otherwise.
bool resolveHostWeights(const std::string& name);
bool cudaAvailable();
int cudaDeviceCount();

// Sets LibTorch's intra-op threads (it defaults to 1 here); returns the count in force.
int applyThreads(int requested);

} // namespace basis
