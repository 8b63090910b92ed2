#pragma once
// GPU memory as the CUDA caching allocator counts it: what the long commands report beside their resident memory
// (memory_usage.h counts the CPU side only).
#include <cstdint>
#include <optional>

namespace basis {

// Records that a job resolved CUDA device `index` (run_options.h resolveDevice; -1 is the current device, 0).
void noteCudaDevice(int index);

// The allocator's peak of allocated bytes since the process started, summed over the devices noted; none when no
// CUDA device was resolved, and none on a build without CUDA (LibTorch without c10_cuda), which resolves none.
std::optional<int64_t> cudaAllocatorPeakBytes();

} // namespace basis
