#include "run_options.h"

#include "device_memory.h"
#include "error.h"
#include "thread_limits.h"

#include <ATen/Context.h>
#include <ATen/Parallel.h>

#include <thread>

namespace basis {

bool cudaAvailable() { return at::hasCUDA(); }

int cudaDeviceCount() { return cudaAvailable() ? static_cast<int>(at::detail::getCUDAHooks().getNumGPUs()) : 0; }

c10::Device resolveDevice(const std::string& name)
{
    if (name == "auto" || name.empty()) {
        if (!cudaAvailable())
            return c10::Device(c10::kCPU);
        noteCudaDevice(0);
        return c10::Device(c10::kCUDA, 0);
    }
    if (name == "cpu")
        return c10::Device(c10::kCPU);
    if (name.rfind("cuda", 0) == 0) {
        if (!cudaAvailable())
            throw Error("device '" + name + "': this build of LibTorch has no CUDA support (use --device cpu, or build "
                        "against a CUDA LibTorch, see README)");
        c10::Device device(c10::kCPU);
        try {
            device = c10::Device(name);
        } catch (const std::exception&) {
            throw Error("device '" + name + "': expected cuda or cuda:N");
        }
        noteCudaDevice(device.index());
        return device;
    }
    throw Error("unknown device '" + name + "' (expected auto, cpu, cuda or cuda:N)");
}

c10::ScalarType resolveDType(const std::string& name)
{
    if (name == "float32" || name == "fp32")
        return c10::kFloat;
    if (name == "bfloat16" || name == "bf16")
        return c10::kBFloat16;
    throw Error("unknown dtype '" + name + "' (expected float32 or bfloat16; float16 matmul is not available on CPU)");
}

bool resolveHostWeights(const std::string& name)
{
    if (name == "device" || name.empty())
        return false;
    if (name == "host")
        return true;
    throw Error("unknown weights placement '" + name + "' (expected device or host)");
}

int applyThreads(int requested)
{
    checkThreads(requested);
    const int n = requested > 0 ? requested : hardwareThreads();
    at::set_num_threads(n);
    return at::get_num_threads();
}

} // namespace basis
