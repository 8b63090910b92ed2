#pragma once
// Independent tasks side by side on the CPU, one thread each, for work made of many small forward passes
// (perplexity windows of a small model): LibTorch's intra-op threads and OpenBLAS's are off inside an OpenMP
// parallel region, so each pass runs on its own core without the per-op hand-off between the two thread pools
// that costs a 64-wide model more than the arithmetic does.
#include <cstddef>
#include <functional>

namespace basis {

// Runs task(0), ..., task(count - 1) on `workers` threads (the calling thread is one of them), handed out in order
// as threads free up. After each task it ran itself, the calling thread runs `afterOwnTask` (progress reports, which
// must come from the caller's thread). The first exception a task throws stops the handing out; it is rethrown
// here once every running task has finished. workers <= 1: a plain loop on the calling thread.
void runSideBySide(size_t count, int workers, const std::function<void(size_t)>& task,
                   const std::function<void()>& afterOwnTask = {});

} // namespace basis
