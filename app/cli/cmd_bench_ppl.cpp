// basis-cli bench ppl: the whole perplexity evaluation the old way (one window at a time, attention by matmul, one
// pass at a time) beside batched windows, the fused small-head attention and passes side by side, in one run: the numbers under both protocols, their
// relative difference to the first row, seconds and the speed-up.
#include "commands.h"

#include "decoder_model.h"
#include "error.h"
#include "perplexity.h"
#include "run_options.h"
#include "tokenizer.h"

#include "atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>

namespace basis::cli {

int runBenchPpl(const BenchPplArgs& a)
{
    if (a.batches.empty())
        throw Error("bench ppl: --batches needs at least one value (1 = one window at a time, 0 = automatic)");
    if (a.attention.empty())
        throw Error("bench ppl: --attention needs at least one of matmul, fused");
    if (a.workers.empty())
        throw Error("bench ppl: --workers needs at least one value (1 = one pass at a time, 0 = automatic)");
    if (a.repeats < 1)
        throw Error("bench ppl: --repeats must be at least 1");
    applyThreads(a.threads);
    auto model = DecoderModel::load(a.model, RunOptions{"cpu", "float32", a.threads});
    auto tokenizer = loadTokenizer(a.model);
    const std::vector<int64_t> ids = tokenizeForEvaluation(*tokenizer, readFile(a.text), BosPolicy::Auto);
    std::printf("bench ppl: %s, %s (%zu tokens), context %lld, %d threads\n", a.model.c_str(), a.text.c_str(),
                ids.size(), (long long)a.context, a.threads);
    std::printf("%8s %8s %8s %14s %14s %10s %10s %14s\n", "kernel", "workers", "batch", "window-mean", "token-mean", "seconds",
                "speed-up", "max rel. diff");
    nlohmann::json rows = nlohmann::json::array();
    double baseSeconds = 0, baseWm = 0, baseTm = 0;
    const size_t perKernel = a.batches.size() * a.workers.size();
    for (size_t i = 0; i < perKernel * a.attention.size(); ++i) {
        const std::string& kernel = a.attention[i / perKernel];
        const int64_t workers = a.workers[(i % perKernel) / a.batches.size()];
        const int64_t batch = a.batches[i % a.batches.size()];
        model->setFusedAttention(kernel == "fused");
        PplOptions o;
        o.context = a.context;
        o.batch = batch;
        o.workers = workers;
        PplResult best;
        for (int r = 0; r < a.repeats; ++r) {
            const PplResult result = evaluatePerplexity(*model, ids, o);
            if (r == 0 || result.seconds < best.seconds)
                best = result;
        }
        if (i == 0) {
            baseSeconds = best.seconds;
            baseWm = best.pplWindowMean;
            baseTm = best.pplTokenMean;
        }
        const double diff = std::max(std::abs(best.pplWindowMean - baseWm) / baseWm,
                                     std::abs(best.pplTokenMean - baseTm) / baseTm);
        std::printf("%8s %8lld %8lld %14.6f %14.6f %10.3f %9.2fx %14.2e\n", kernel.c_str(), (long long)best.workers,
                    (long long)best.batch, best.pplWindowMean,
                    best.pplTokenMean, best.seconds, baseSeconds / best.seconds, diff);
        rows.push_back({{"attention", kernel}, {"workers_requested", workers}, {"workers", best.workers},
                        {"batch_requested", batch}, {"batch", best.batch}, {"ppl_window_mean", best.pplWindowMean},
                        {"ppl_token_mean", best.pplTokenMean}, {"seconds", best.seconds},
                        {"speedup", baseSeconds / best.seconds}, {"max_relative_difference", diff}});
    }
    std::printf("Speed-up and difference against the first row (best of %d runs each).\n", a.repeats);
    if (a.json)
        std::cout << nlohmann::json{{"model", a.model}, {"text", a.text}, {"context", a.context}, {"threads", a.threads},
                                    {"tokens", ids.size()}, {"runs", rows}}.dump()
                  << std::endl;
    return 0;
}

} // namespace basis::cli
