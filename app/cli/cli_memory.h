#pragma once
// The memory figures long commands print and put in their --json object (memory_usage.h): peak RssAnon, peak
// file-backed RSS and VmHWM of the whole command, sampled from the start of main.
#include "job_results.h"

#include <nlohmann/json.hpp>

namespace basis::cli {

// Starts the process's watch (main calls it first); later calls return the same one.
void startMemoryWatch();
// {"peak_rss_anon_bytes", "peak_rss_file_bytes", "peak_rss_bytes"} so far, and "cuda_allocator_peak_bytes" when a
// GPU build used a GPU (device_memory.h).
nlohmann::json memoryJson();
// "  memory: peak RssAnon 1.23 GB, file-backed 4.56 GB (peak RSS 5.79 GB)" on stdout.
void printMemory();
// With host weights (run_options.h): "  weights: the layers in CPU memory, each copied to cuda:0 for its turn".
// Nothing for weights on the device.
void printWeightsPlacement(const ModelSummary& model);

} // namespace basis::cli
