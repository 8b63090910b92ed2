#include "throughput.h"

#include "decoder_model.h"
#include "error.h"
#include "kv_cache.h"

#include <ATen/ATen.h>
#ifdef BASIS_CUDA_ALLOCATOR_STATS
#include <c10/cuda/CUDACachingAllocator.h>
#endif

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

namespace basis {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0)
{
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Linux keeps the peak resident set (VmHWM) per process; writing 5 to clear_refs resets it (Linux >= 4.0),
// so each run reports its own peak. Model weights that are resident count too.
void resetPeakRss()
{
    std::ofstream("/proc/self/clear_refs") << "5";
}

int64_t peakRssBytes()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) {
            std::istringstream s(line.substr(6));
            int64_t kb = 0;
            s >> kb;
            return kb * 1024;
        }
    return 0;
}

// Peak memory of one run: the resident set on CPU, the caching allocator's peak of allocated bytes on CUDA.
void resetPeak(const DecoderModel& model)
{
    if (!model.device().is_cuda()) {
        resetPeakRss();
        return;
    }
#ifdef BASIS_CUDA_ALLOCATOR_STATS
    c10::cuda::CUDACachingAllocator::resetPeakStats(model.device().index());
#endif
}

int64_t peakBytes(const DecoderModel& model)
{
    if (!model.device().is_cuda())
        return peakRssBytes();
#ifdef BASIS_CUDA_ALLOCATOR_STATS
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(model.device().index());
    return stats.allocated_bytes[0].peak;   // index 0 = StatType::AGGREGATE (its namespace moved between versions)
#else
    return 0;
#endif
}

std::string peakKind(const DecoderModel& model)
{
    if (!model.device().is_cuda())
        return "resident set (VmHWM)";
#ifdef BASIS_CUDA_ALLOCATOR_STATS
    return "CUDA allocator peak";
#else
    return "unavailable (built without the CUDA allocator's statistics)";
#endif
}

void synchronize(const DecoderModel& model)
{
    if (model.device().is_cuda())
        at::detail::getCUDAHooks().deviceSynchronize(model.device().index());
}

at::Tensor promptIds(const DecoderModel& model, const ThroughputOptions& o)
{
    const int64_t vocab = model.config().vocabSize;
    std::vector<int64_t> ids(static_cast<size_t>(o.batch * o.promptLen));
    for (size_t i = 0; i < ids.size(); ++i)
        ids[i] = static_cast<int64_t>((i * 7919 + 13) % static_cast<size_t>(vocab));
    return at::tensor(ids, at::kLong).view({o.batch, o.promptLen}).to(model.device());
}

ThroughputSample runOnce(const DecoderModel& model, const at::Tensor& prompt, const ThroughputOptions& o)
{
    ThroughputSample s;
    resetPeak(model);
    KVCache cache;
    synchronize(model);
    auto t0 = Clock::now();
    if (o.beforePrefill)
        o.beforePrefill();
    at::Tensor next = model.forward(prompt, &cache, true).argmax(-1);   // [batch, 1]
    if (o.afterPrefill)
        o.afterPrefill();
    synchronize(model);
    s.prefillSeconds = since(t0);
    t0 = Clock::now();
    for (int64_t i = 1; i < o.genLen; ++i)
        next = model.forward(next, &cache, true).argmax(-1);
    synchronize(model);
    s.decodeSeconds = since(t0);
    s.peakBytes = peakBytes(model);
    return s;
}

void validate(const DecoderModel& model, const ThroughputOptions& o)
{
    if (o.batch < 1 || o.promptLen < 1 || o.genLen < 2 || o.repeats < 1 || o.warmup < 0)
        throw Error("throughput needs batch >= 1, prompt length >= 1, gen length >= 2, repeats >= 1, warmup >= 0");
    const int64_t maxPos = model.config().maxPositions;
    if (maxPos > 0 && o.promptLen + o.genLen > maxPos)
        throw Error("prompt length " + std::to_string(o.promptLen) + " + gen length " + std::to_string(o.genLen) +
                    " exceeds the model's " + std::to_string(maxPos) + " positions");
}

ThroughputResult summarise(const DecoderModel& model, const ThroughputOptions& o, std::vector<ThroughputSample> samples)
{
    ThroughputResult r;
    r.options = o;
    std::vector<double> prefill, decode;
    for (const auto& s : samples) {
        prefill.push_back(s.prefillSeconds);
        decode.push_back(s.decodeSeconds);
        r.peakMemoryBytes = std::max(r.peakMemoryBytes, s.peakBytes);
    }
    r.timeToFirstTokenSeconds = median(prefill);
    r.prefillTokensPerSecond = static_cast<double>(o.batch * o.promptLen) / r.timeToFirstTokenSeconds;
    r.decodeTokensPerSecond = static_cast<double>(o.batch * (o.genLen - 1)) / std::max(median(decode), 1e-12);
    r.peakMemoryKind = r.peakMemoryBytes > 0 ? peakKind(model) : "unavailable";
    r.parameters = model.parameterCount();
    r.projectionMultiplyAdds = projectionMultiplyAddsPerToken(model);
    r.multiplyAddsPerToken = multiplyAddsPerToken(model, o.promptLen + o.genLen / 2);
    r.samples = std::move(samples);
    return r;
}

} // namespace

double projectionMultiplyAddsPerToken(const DecoderModel& model)
{
    double macs = 0;
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            macs += s.isFactorized() ? static_cast<double>(s.inFeatures() * s.basis().size(1) +
                                                           s.coeff().size(0) * s.outFeatures())
                    : s.isQuantized()   // the dequantized Q, then R x and L (R x)
                        ? static_cast<double>(s.inFeatures() * s.outFeatures() +
                                              s.quantized().rank() * (s.inFeatures() + s.outFeatures()))
                        : static_cast<double>(s.inFeatures() * s.outFeatures());
    return macs;
}

double multiplyAddsPerToken(const DecoderModel& model, int64_t position)
{
    const ModelConfig& c = model.config();
    const double attention = 2.0 * static_cast<double>(position + 1) * static_cast<double>(c.heads * c.headDim);
    const double head = static_cast<double>(c.vocabSize) * static_cast<double>(c.hidden);
    return projectionMultiplyAddsPerToken(model) + static_cast<double>(model.layerCount()) * attention + head;
}

ThroughputResult measureThroughput(const DecoderModel& model, const ThroughputOptions& o, const JobContext& job)
{
    validate(model, o);
    const at::Tensor prompt = promptIds(model, o);
    std::vector<ThroughputSample> samples;
    const int64_t total = o.warmup + o.repeats;
    for (int64_t r = 0; r < total; ++r) {
        job.checkCancelled();
        const ThroughputSample s = runOnce(model, prompt, o);
        if (r >= o.warmup)
            samples.push_back(s);
        job.report(r + 1, total, r < o.warmup ? "warm-up run" : "timed run " + std::to_string(r + 1 - o.warmup));
    }
    return summarise(model, o, std::move(samples));
}

ThroughputComparison compareThroughput(const DecoderModel& base, const DecoderModel& other,
                                       const ThroughputOptions& o, const JobContext& job)
{
    validate(base, o);
    validate(other, o);
    if (base.config().vocabSize != other.config().vocabSize)
        throw Error("the two models have different vocabularies: compare a model with its compressed version");
    const at::Tensor promptA = promptIds(base, o), promptB = promptIds(other, o);
    std::vector<ThroughputSample> a, b;
    const int64_t total = o.warmup + o.repeats;
    for (int64_t r = 0; r < total; ++r) {
        job.checkCancelled();
        const ThroughputSample sa = runOnce(base, promptA, o);
        job.checkCancelled();
        const ThroughputSample sb = runOnce(other, promptB, o);
        if (r >= o.warmup) {
            a.push_back(sa);
            b.push_back(sb);
        }
        job.report(r + 1, total, r < o.warmup ? "warm-up runs" : "timed pair " + std::to_string(r + 1 - o.warmup));
    }
    ThroughputComparison c;
    c.base = summarise(base, o, std::move(a));
    c.other = summarise(other, o, std::move(b));
    c.prefillSpeedup = c.other.prefillTokensPerSecond / c.base.prefillTokensPerSecond;
    c.decodeSpeedup = c.other.decodeTokensPerSecond / c.base.decodeTokensPerSecond;
    c.macRatio = c.base.multiplyAddsPerToken / c.other.multiplyAddsPerToken;
    c.projectionMacRatio = c.base.projectionMultiplyAdds / c.other.projectionMultiplyAdds;
    return c;
}

} // namespace basis
