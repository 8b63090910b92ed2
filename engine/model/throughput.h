#pragma once
// Generation speed as users feel it: prefill (the prompt in one pass), decode (one token at a time through the
// KV cache), time to first token and peak memory, with medians over repeated runs after warm-up. Comparing two
// models alternates their runs so that machine drift (other processes, clocks, caches) affects both alike.
#include "progress.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace basis {

class DecoderModel;

struct ThroughputOptions {
    int64_t batch = 1;
    int64_t promptLen = 128;     // prefill tokens per sequence
    int64_t genLen = 64;         // new tokens per sequence; the first comes from the prefill
    int64_t warmup = 1;          // untimed runs first
    int64_t repeats = 5;         // timed runs; medians reported
    // Dynamic rank (dynamic_rank.h): called before each run's prefill and at its end, inside the prefill's time
    // (prompt-adaptive chooses and gathers its columns there, once per prompt). May be empty.
    std::function<void()> beforePrefill, afterPrefill;
};

struct ThroughputSample {
    double prefillSeconds = 0;   // the prompt's forward and the first token (= time to first token)
    double decodeSeconds = 0;    // the genLen - 1 cached steps
    int64_t peakBytes = 0;       // see ThroughputResult::peakMemoryKind
};

struct ThroughputResult {
    ThroughputOptions options;
    double prefillTokensPerSecond = 0;   // batch * promptLen / median prefill time
    double decodeTokensPerSecond = 0;    // batch * (genLen - 1) / median decode time
    double timeToFirstTokenSeconds = 0;  // median prefill time
    int64_t peakMemoryBytes = 0;         // largest over the timed runs
    std::string peakMemoryKind;          // "resident set (VmHWM)", "CUDA allocator peak" or "unavailable ..."
    int64_t parameters = 0;
    double projectionMultiplyAdds = 0;   // per token, the compressible projections only
    double multiplyAddsPerToken = 0;     // per token of a decode step at the mean decode position (all of it)
    std::vector<ThroughputSample> samples;
};

// Multiply-adds of one token's forward at cache position `position`: projections (dense in*out, factorized
// in*k + k*out), attention scores and values over position+1 keys, and the LM head.
double multiplyAddsPerToken(const DecoderModel& model, int64_t position);
double projectionMultiplyAddsPerToken(const DecoderModel& model);

// One model. Prompts are fixed pseudo-random tokens (reproducible, no tokenizer needed); greedy decoding.
ThroughputResult measureThroughput(const DecoderModel& model, const ThroughputOptions& options, const JobContext& job = {});

struct ThroughputComparison {
    ThroughputResult base, other;
    double prefillSpeedup = 0;   // other / base, ratio of the medians
    double decodeSpeedup = 0;
    double macRatio = 0;         // base / other multiply-adds per decode token: the speed-up the FLOPs promise
    double projectionMacRatio = 0;
};

// Runs base, other, base, other, ... (warm-up runs too), so both see the same machine.
ThroughputComparison compareThroughput(const DecoderModel& base, const DecoderModel& other,
                                       const ThroughputOptions& options, const JobContext& job = {});

} // namespace basis
