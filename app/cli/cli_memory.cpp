#include "cli_memory.h"

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
    return {{"peak_rss_anon_bytes", watch().peakAnon()}, {"peak_rss_file_bytes", watch().peakFile()},
            {"peak_rss_bytes", watch().peakRss()}};
}

void printMemory()
{
    std::printf("  memory: peak RssAnon %s, file-backed %s (peak RSS %s)\n", formatGigabytes(watch().peakAnon()).c_str(),
                formatGigabytes(watch().peakFile()).c_str(), formatGigabytes(watch().peakRss()).c_str());
}

} // namespace basis::cli
