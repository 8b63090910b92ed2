#pragma once
// What a job's own accounting says it will add in anonymous memory (RssAnon, which cannot be evicted) before it
// starts, so the studio can refuse a job that will not fit in the memory the machine has, naming the numbers.
// Estimates from the shapes alone, torch-free; the parts are the largest allocations the engine makes, and the
// README's measured figures (issue 12) are what they were checked against. File-backed pages (weights kept as
// stored, mapped statistics) are left out: the kernel evicts and rereads them.
#include "compression_plan.h"
#include "model_config.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace basis {

struct MemoryNeed {
    int64_t bytes = 0;                                        // the sum of the parts
    std::vector<std::pair<std::string, int64_t>> parts;       // what it is made of, in the order added
    void add(const std::string& what, int64_t b);
};

// The float64 work of factorizing one group of n_in x columns (columns = layers x n_out) with whitening: W_G, S W_G
// and LAPACK's copy of it, U, V^T and the divide-and-conquer SVD's workspace (about 7 r^2, r = min(n_in, columns)),
// and H_G with its Cholesky factor and S (3 n_in^2). Without whitening the last three are left out.
int64_t groupFactorizationBytes(int64_t inputs, int64_t columns, bool whitened);

// Compression of `plan`: the largest group's factorization, and unless the output is written as it goes
// (compress_streamed.h) the compressed copy's factors at `computeElementBytes` each.
MemoryNeed compressionNeed(const CompressionPlan& plan, int64_t computeElementBytes, bool streamed, bool whitened = true);

// Calibration of `samples` chunks of `context` tokens: the float64 statistics (H and s per input site; one layer's
// when streamed into a cache, every layer's otherwise) and, when streamed, the activations of every sample at one
// layer's input at `computeElementBytes` (a whole-model pass holds one batch's, counted as `batch` chunks), unless
// `activationsOnDisk` (a streamed calibration's scratch file, activation_store.h: file-backed, not counted).
MemoryNeed calibrationNeed(const ModelConfig& config, const ArchTable& table, int64_t samples, int64_t context,
                           int64_t batch, int64_t computeElementBytes, bool streamed, bool activationsOnDisk = false);
// The bytes of every sample's activations at one layer's input in a streamed calibration.
int64_t calibrationActivationBytes(const ModelConfig& config, int64_t samples, int64_t context, int64_t computeElementBytes);

// MemAvailable of /proc/meminfo in bytes (what the kernel says can be had without swapping); 0 when unknown.
int64_t availableMemoryBytes();

// "1.23 GB" from 1 GB up, "45.6 MB" below (10^9 and 10^6 bytes).
std::string formatMemory(int64_t bytes);

// "about 2.41 GB (the compressed copy 1.20 GB, the largest group's factorization 1.21 GB)"
std::string describeNeed(const MemoryNeed& need);

// Empty when the job fits (or `available` is unknown, 0); else why it is refused, naming what it needs, of what,
// and what is available: "Compress needs about 2.41 GB (...), but only 1.02 GB of memory is available".
std::string memoryRefusal(const std::string& job, const MemoryNeed& need, int64_t available);

} // namespace basis
