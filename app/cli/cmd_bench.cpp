// basis-cli bench forward: evaluation throughput (one window, forward + loss) next to the GEMM rate
// measured in the same run, so the figure can be read as a fraction of what the BLAS can do.
#include "commands.h"

#include "decoder_model.h"
#include "compression_plan.h"
#include "error.h"
#include "synth.h"
#include "perplexity.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>

namespace basis::cli {

namespace {

double seconds(std::chrono::steady_clock::time_point since)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

double median(std::vector<double> v)
{
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// fp32 (or bf16) 2048 x 2048 matmul rate in GFLOP/s, median of 5.
double gemmRate(c10::ScalarType dtype)
{
    c10::InferenceMode guard;
    const int64_t n = 2048;
    at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
    at::mm(a, b);
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        at::mm(a, b);
        times.push_back(seconds(t0));
    }
    return 2.0 * n * n * n / median(times) / 1e9;
}

} // namespace

int runBenchPlan(bool json)
{
    // LLaMA-2-7B's shape (config only: no weights are written or read).
    SynthShape shape = synthPreset("llama-tiny");
    shape.name = "llama-2-7b";
    shape.vocab = 32000;
    shape.hidden = 4096;
    shape.layers = 32;
    shape.heads = shape.kvHeads = 32;
    shape.intermediate = 11008;
    const ModelConfig cfg = parseModelConfig(synthConfigJson(shape, 0), shape.name);
    const ArchTable table = archTable(cfg);
    const int iterations = 2000;
    int64_t sink = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iterations; ++i) {
        CompressionSettings s;
        s.ratio = 10 + i % 50;
        s.groupSize = 1 + i % 8;
        sink += planCompression(cfg, table, s).modelAfter;
    }
    const double each = seconds(t0) / iterations;
    std::printf("planCompression on a 32-layer LLaMA-2-7B shape: %.1f us per call (%d calls, checksum %lld)\n", each * 1e6,
                iterations, (long long)(sink % 1000));
    if (json)
        std::cout << nlohmann::json{{"shape", shape.name}, {"calls", iterations}, {"seconds_per_call", each}}.dump()
                  << std::endl;
    return 0;
}

int runBenchForward(const BenchArgs& a)
{
    if (a.repeats < 1)
        throw Error("bench: --repeats must be at least 1");
    auto model = DecoderModel::load(a.model, RunOptions{"cpu", a.dtype, 0});
    const ModelConfig& c = model->config();
    if (c.learnedPositions && a.context > c.maxPositions)
        throw Error("bench: context " + std::to_string(a.context) + " exceeds the model's " + std::to_string(c.maxPositions) +
                    " positions");
    const int64_t params = model->parameterCount();
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(1234);
    at::Tensor ids = at::randint(c.vocabSize, {1, a.context}, gen, at::TensorOptions().dtype(at::kLong));
    const char* coretype = std::getenv("OPENBLAS_CORETYPE");
    std::printf("bench forward: %s (%s, %lld parameters), context %lld, %s, OPENBLAS_CORETYPE=%s\n", a.model.c_str(),
                c.arch.c_str(), (long long)params, (long long)a.context, a.dtype.c_str(),
                coretype ? coretype : "(unset)");
    std::printf("%8s %12s %12s %14s %14s\n", "threads", "tokens/s", "seconds", "GEMM GFLOP/s", "BLAS fraction");

    nlohmann::json rows = nlohmann::json::array();
    for (int threads : a.threads) {
        applyThreads(threads);
        const double gemm = gemmRate(model->dtype());
        auto once = [&] {   // one evaluation window: forward + loss, as eval ppl runs it
            c10::InferenceMode guard;
            at::Tensor hidden = model->hiddenStates(ids).squeeze(0);
            return sumNll(*model, hidden.narrow(0, 0, a.context - 1), ids.squeeze(0).narrow(0, 1, a.context - 1));
        };
        once();   // warm-up: first-touch of the memory map, allocator, OpenMP pool
        std::vector<double> times;
        for (int r = 0; r < a.repeats; ++r) {
            auto t0 = std::chrono::steady_clock::now();
            once();
            times.push_back(seconds(t0));
        }
        const double t = median(times);
        const double tps = static_cast<double>(a.context) / t;
        const double fraction = 2.0 * static_cast<double>(params) * static_cast<double>(a.context) / t / 1e9 / gemm;
        std::printf("%8d %12.1f %12.3f %14.1f %13.0f%%\n", threads, tps, t, gemm, 100 * fraction);
        rows.push_back({{"threads", threads}, {"tokens_per_second", tps}, {"seconds", t}, {"gemm_gflops", gemm},
                        {"blas_fraction", fraction}});
    }
    std::printf("BLAS fraction = 2 x parameters x tokens / time / GEMM rate (2048^3 matmul, same dtype, same run).\n");
    if (a.json)
        std::cout << nlohmann::json{{"model", a.model}, {"context", a.context}, {"parameters", params}, {"dtype", a.dtype},
                                    {"runs", rows}}.dump()
                  << std::endl;
    return 0;
}

} // namespace basis::cli
