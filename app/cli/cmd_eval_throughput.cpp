// basis-cli eval throughput: prefill/decode tokens/s, time to first token and peak memory of one model, or of two
// (dense and compressed) with their runs alternating and the ratio of medians beside the ratio of multiply-adds.
#include "cli_progress.h"
#include "cli_rank.h"
#include "commands.h"

#include "error.h"
#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <iostream>

namespace basis::cli {

namespace {

nlohmann::json toJson(const ThroughputResult& r, const std::string& model)
{
    nlohmann::json runs = nlohmann::json::array();
    for (const ThroughputSample& s : r.samples)
        runs.push_back({{"prefill_seconds", s.prefillSeconds}, {"decode_seconds", s.decodeSeconds}, {"peak_bytes", s.peakBytes}});
    return {{"model", model},
            {"prefill_tokens_per_second", r.prefillTokensPerSecond},
            {"decode_tokens_per_second", r.decodeTokensPerSecond},
            {"time_to_first_token_seconds", r.timeToFirstTokenSeconds},
            {"peak_memory_bytes", r.peakMemoryBytes},
            {"peak_memory_kind", r.peakMemoryKind},
            {"parameters", r.parameters},
            {"projection_multiply_adds_per_token", r.projectionMultiplyAdds},
            {"multiply_adds_per_decode_token", r.multiplyAddsPerToken},
            {"runs", runs}};
}

void printRow(const char* label, const ThroughputResult& r)
{
    std::printf("%-11s %12.1f %12.1f %10.2f %10.1f %14lld %10.3g\n", label, r.prefillTokensPerSecond,
                r.decodeTokensPerSecond, 1000.0 * r.timeToFirstTokenSeconds, r.peakMemoryBytes / 1048576.0,
                (long long)r.parameters, r.multiplyAddsPerToken);
}

} // namespace

int runEvalThroughput(const ThroughputArgs& a)
{
    Workspace ws, other;
    const ModelSummary model = ws.load(a.model, a.run, loadJob());
    if (!a.compare.empty())
        other.load(a.compare, a.run, loadJob());
    const ThroughputJobOptions& o = a.throughput;
    const std::string device = model.device;
    const int threads = model.threads;
    StderrProgress progress("throughput");
    const JobContext job = cliJob(progress);

    std::printf("batch %lld, prompt %lld, gen %lld tokens; %lld warm-up + %lld timed runs%s; %s, %s, %d threads\n",
                (long long)o.batch, (long long)o.promptLen, (long long)o.genLen, (long long)o.warmup,
                (long long)o.repeats, other.hasModel() ? " each, alternating" : "", device.c_str(),
                a.run.dtype.c_str(), threads);
    nlohmann::json j = {{"batch", o.batch}, {"prompt_len", o.promptLen}, {"gen_len", o.genLen}, {"warmup", o.warmup},
                        {"repeats", o.repeats}, {"device", device}, {"weights", model.weights}, {"dtype", a.run.dtype},
                        {"threads", threads}};
    if (o.rank.active() && other.hasModel())
        throw Error("eval throughput: --rank-strategy runs one model; drop --compare and run each strategy alone");
    if (!other.hasModel()) {
        const ThroughputSummary summary = ws.throughput(o, job);
        const ThroughputResult& r = summary.result;
        progress.finish();
        std::printf("%-11s %12s %12s %10s %10s %14s %10s\n", "model", "prefill t/s", "decode t/s", "TTFT ms",
                    "peak MiB", "parameters", "MAC/token");
        printRow("model", r);
        std::printf("peak memory: %s of the whole process (weights included)\n", r.peakMemoryKind.c_str());
        j["model"] = toJson(r, a.model);
        if (summary.rank) {   // what the decode steps spent (the prefill runs at full rank)
            printRank(*summary.rank);
            j["rank"] = rankJson(*summary.rank);
        }
    } else {
        const ThroughputComparison c = compareThroughput(ws, false, other, false, o, job);
        progress.finish();
        std::printf("%-11s %12s %12s %10s %10s %14s %10s\n", "model", "prefill t/s", "decode t/s", "TTFT ms",
                    "peak MiB", "parameters", "MAC/token");
        printRow("base", c.base);
        printRow("compare", c.other);
        // Two views of efficiency: the speed-up over the promised one, and the share of the promised gain.
        const double gain = c.macRatio - 1.0;
        auto share = [gain](double speedup) {
            return std::abs(gain) > 1e-9 ? std::to_string(static_cast<int>(std::lround(100.0 * (speedup - 1.0) / gain))) + "%"
                                         : std::string("n/a");
        };
        std::printf("speed-up (ratio of medians): prefill %.3fx, decode %.3fx; multiply-adds promise %.3fx "
                    "(projections alone %.3fx)\n",
                    c.prefillSpeedup, c.decodeSpeedup, c.macRatio, c.projectionMacRatio);
        std::printf("achieved: prefill %.0f%%, decode %.0f%% of the promised speed-up; %s and %s of the promised gain\n",
                    100.0 * c.prefillSpeedup / c.macRatio, 100.0 * c.decodeSpeedup / c.macRatio,
                    share(c.prefillSpeedup).c_str(), share(c.decodeSpeedup).c_str());
        std::printf("peak memory: %s of the whole process, both models loaded\n", c.base.peakMemoryKind.c_str());
        j["model"] = toJson(c.base, a.model);
        j["compare"] = toJson(c.other, a.compare);
        j["prefill_speedup"] = c.prefillSpeedup;
        j["decode_speedup"] = c.decodeSpeedup;
        j["multiply_add_ratio"] = c.macRatio;
        j["projection_multiply_add_ratio"] = c.projectionMacRatio;
    }
    if (a.json)
        std::cout << j.dump() << std::endl;
    return 0;
}

} // namespace basis::cli
