#include "cli_memory.h"

#include "device_memory.h"
#include "memory_usage.h"

#include <cstdio>

namespace basis::cli {

namespace {
MemoryWatch& watch()
{
    static MemoryWatch w;
    return w;
}
} // namespace

void startMemoryWatch() { watch(); }

nlohmann::json memoryJson()
{
    nlohmann::json j = {{"peak_rss_anon_bytes", watch().peakAnon()}, {"peak_rss_file_bytes", watch().peakFile()},
                        {"peak_rss_bytes", watch().peakRss()}};
    if (const auto gpu = cudaAllocatorPeakBytes())   // GPU builds that used a GPU
        j["cuda_allocator_peak_bytes"] = *gpu;
    return j;
}

void printMemory()
{
    const auto gpu = cudaAllocatorPeakBytes();
    std::printf("  memory: peak RssAnon %s, file-backed %s (peak RSS %s)%s\n", formatGigabytes(watch().peakAnon()).c_str(),
                formatGigabytes(watch().peakFile()).c_str(), formatGigabytes(watch().peakRss()).c_str(),
                gpu ? (", CUDA allocator peak " + formatGigabytes(*gpu)).c_str() : "");
}

void printWeightsPlacement(const ModelSummary& model)
{
    if (model.weights == "host")
        std::printf("  weights: the layers in CPU memory, each copied to %s for its turn\n", model.device.c_str());
}

} // namespace basis::cli
