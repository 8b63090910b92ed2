#include "device_memory.h"

#include <atomic>

#ifdef BASIS_CUDA_ALLOCATOR_STATS
#include <ATen/Context.h>
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace basis {

namespace {
std::atomic<uint64_t> g_cudaDevices{0};   // bit d: device d was resolved for a job
} // namespace

void noteCudaDevice(int index)
{
    if (index < 64)
        g_cudaDevices.fetch_or(uint64_t(1) << (index < 0 ? 0 : index));
}

std::optional<int64_t> cudaAllocatorPeakBytes()
{
    const uint64_t devices = g_cudaDevices.load();
    if (devices == 0)
        return std::nullopt;
#ifdef BASIS_CUDA_ALLOCATOR_STATS
    // The allocator's per-device state exists only after CUDA's lazy initialisation; a device was asked for, so
    // initialising it here (a no-op when it already ran) costs nothing the job did not.
    at::globalContext().lazyInitCUDA();
    int64_t peak = 0;
    for (int d = 0; d < 64; ++d)   // allocated_bytes[0]: StatType::AGGREGATE, as throughput.cpp reads it
        if (devices & (uint64_t(1) << d))
            peak += c10::cuda::CUDACachingAllocator::getDeviceStats(d).allocated_bytes[0].peak;
    return peak;
#else
    return std::nullopt;
#endif
}

} // namespace basis
