#pragma once
// How many CPU threads a job may ask for: 0 (all this process may run on) or 1 .. that count. More threads than
// cores only slow LibTorch down (measured: 2000 threads 100x slower on 2 cores) and, under an address-space cap,
// OpenBLAS can loop forever allocating per-thread buffers.
#include <string>

namespace basis {

// CPUs this process may run on (sched_getaffinity, so a container's or taskset's limit counts), at least 1.
int hardwareThreads();

// Throws basis::Error "<what>: ... is outside 0..N" when `threads` is not a valid request.
void checkThreads(int threads, const std::string& what = "--threads");

} // namespace basis
