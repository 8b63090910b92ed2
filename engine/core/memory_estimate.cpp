#include "memory_estimate.h"

#include "memory_usage.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace basis {

void MemoryNeed::add(const std::string& what, int64_t b)
{
    parts.emplace_back(what, b);
    bytes += b;
}

int64_t groupFactorizationBytes(int64_t inputs, int64_t columns, bool whitened)
{
    const int64_t r = std::min(inputs, columns);
    int64_t elements = 3 * inputs * columns + inputs * r + r * columns + 7 * r * r;
    if (whitened)
        elements += 3 * inputs * inputs;
    return 8 * elements;
}

MemoryNeed compressionNeed(const CompressionPlan& plan, int64_t computeElementBytes, bool streamed, bool whitened)
{
    int64_t largest = 0, factors = 0;
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        for (const GroupPlan& g : p.groups) {
            const int64_t columns = static_cast<int64_t>(g.layers.size()) * p.spec->out;
            largest = std::max(largest, groupFactorizationBytes(p.spec->in, columns, whitened));
            factors += g.weightsAfter * computeElementBytes;
        }
    }
    MemoryNeed need;
    if (!streamed)
        need.add("the compressed copy's factors", factors);
    need.add("the largest group's factorization", largest);
    return need;
}

int64_t calibrationActivationBytes(const ModelConfig& config, int64_t samples, int64_t context, int64_t computeElementBytes)
{
    return samples * context * config.hidden * computeElementBytes;
}

MemoryNeed calibrationNeed(const ModelConfig& config, const ArchTable& table, int64_t samples, int64_t context,
                           int64_t batch, int64_t computeElementBytes, bool streamed, bool activationsOnDisk)
{
    std::set<InputSite> sites;
    int64_t perLayer = 0;
    for (const ProjectionSpec& p : table.projections)
        if (sites.insert(p.site).second)
            perLayer += 8 * (p.in * p.in + p.in);
    MemoryNeed need;
    need.add(streamed ? "one layer's statistics" : "every layer's statistics", streamed ? perLayer : perLayer * config.layers);
    if (streamed && activationsOnDisk)
        return need;
    const int64_t chunks = streamed ? samples : std::min(samples, std::max<int64_t>(batch, 1));
    need.add(streamed ? "the activations of every sample at one layer" : "one batch's activations",
             calibrationActivationBytes(config, chunks, context, computeElementBytes));
    return need;
}

int64_t availableMemoryBytes()
{
    std::ifstream in("/proc/meminfo");
    std::string key;
    int64_t value = 0;
    std::string unit;
    while (in >> key >> value >> unit)
        if (key == "MemAvailable:")
            return value * 1024;   // the kernel writes kB meaning KiB
    return 0;
}

std::string formatMemory(int64_t bytes)
{
    if (bytes >= 1'000'000'000)
        return formatGigabytes(bytes);
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return text;
}

std::string describeNeed(const MemoryNeed& need)
{
    std::ostringstream s;
    s << "about " << formatMemory(need.bytes);
    if (!need.parts.empty()) {
        s << " (";
        for (size_t i = 0; i < need.parts.size(); ++i)
            s << (i ? ", " : "") << need.parts[i].first << " " << formatMemory(need.parts[i].second);
        s << ")";
    }
    return s.str();
}

std::string memoryRefusal(const std::string& job, const MemoryNeed& need, int64_t available)
{
    if (available <= 0 || need.bytes <= available)
        return {};
    return job + " needs " + describeNeed(need) + ", but only " + formatMemory(available) + " of memory is available";
}

} // namespace basis
