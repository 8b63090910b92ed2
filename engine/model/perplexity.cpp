#include "perplexity.h"

#include "decoder_model.h"
#include "error.h"
#include "memory_estimate.h"
#include "side_by_side.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>

namespace basis {

std::string protocolName(PplProtocol p) { return p == PplProtocol::WindowMean ? "window-mean" : "token-mean"; }

PplProtocol parseProtocol(const std::string& name)
{
    if (name == "window-mean")
        return PplProtocol::WindowMean;
    if (name == "token-mean")
        return PplProtocol::TokenMean;
    throw Error("unknown perplexity protocol '" + name + "' (expected window-mean or token-mean)");
}

std::string bosPolicyName(BosPolicy p)
{
    switch (p) {
    case BosPolicy::Auto: return "auto";
    case BosPolicy::Always: return "always";
    case BosPolicy::Never: return "never";
    }
    return "?";
}

BosPolicy parseBosPolicy(const std::string& name)
{
    if (name == "auto")
        return BosPolicy::Auto;
    if (name == "always")
        return BosPolicy::Always;
    if (name == "never")
        return BosPolicy::Never;
    throw Error("unknown BOS policy '" + name + "' (expected auto, always or never)");
}

PplPasses parsePasses(const std::string& name)
{
    if (name == "auto")
        return PplPasses::Auto;
    if (name == "whole")
        return PplPasses::Whole;
    if (name == "layerwise")
        return PplPasses::Layerwise;
    throw Error("unknown perplexity passes '" + name + "' (expected auto, whole or layerwise)");
}

bool evaluatesLayerwise(const DecoderModel& model, PplPasses passes, int64_t availableBytes)
{
    if (passes != PplPasses::Auto)
        return passes == PplPasses::Layerwise;
    if (model.hostWeights())   // whole passes would copy every layer to the device again for every batch
        return true;
    const int64_t weights = model.parameterCount() * static_cast<int64_t>(c10::elementSize(model.dtype()));
    return availableBytes > 0 && weights > availableBytes;
}

std::vector<int64_t> tokenizeForEvaluation(const Tokenizer& tokenizer, const std::string& text, BosPolicy bos,
                                           bool* bosAdded)
{
    const bool add = bos == BosPolicy::Always || (bos == BosPolicy::Auto && tokenizer.addsBos() && tokenizer.bosId());
    if (add && !tokenizer.bosId())
        throw Error("--bos always: this tokenizer defines no BOS token");
    std::vector<int64_t> ids;
    if (add)
        ids.push_back(*tokenizer.bosId());
    const std::vector<int64_t> body = tokenizer.encode(text);
    ids.insert(ids.end(), body.begin(), body.end());
    if (bosAdded)
        *bosAdded = add;
    return ids;
}

double sumNll(const DecoderModel& model, const at::Tensor& hidden, const at::Tensor& targets)
{
    c10::InferenceMode inference;
    const int64_t rows = hidden.size(0);
    const int64_t vocab = model.config().vocabSize;
    const int64_t chunk = std::max<int64_t>(16, (24 << 20) / (4 * vocab));
    at::Tensor t = targets.to(hidden.device());
    double total = 0;
    for (int64_t r = 0; r < rows; r += chunk) {
        const int64_t n = std::min(chunk, rows - r);
        at::Tensor logits = model.logits(hidden.narrow(0, r, n));
        // Per-token losses summed in float64 so long texts lose no precision.
        total += at::cross_entropy_loss(logits, t.narrow(0, r, n), {}, at::Reduction::None).to(at::kDouble).sum().item<double>();
    }
    return total;
}

int64_t autoBatch(const DecoderModel& model, int64_t context)
{
    const ModelConfig& c = model.config();
    const int64_t t = std::max<int64_t>(1, context);
    // Floats alive per token at once: attention scores and probabilities, q/k/v/output, the MLP's up/gate/act.
    const int64_t perToken = 2 * c.heads * t + 6 * c.hidden + 3 * c.intermediate;
    const int64_t perWindow = std::max<int64_t>(1, perToken * t * 4);
    const int64_t budget = int64_t(256) << 20;
    return std::clamp<int64_t>(budget / perWindow, 1, 64);
}

int64_t autoWorkers(const DecoderModel& model)
{
    return model.device().is_cpu() ? std::max(1, at::get_num_threads()) : 1;
}

namespace {

struct Window {
    int64_t begin = 0, end = 0, firstScored = 0, count = 0;
};

} // namespace

PplResult evaluatePerplexity(const DecoderModel& model, const std::vector<int64_t>& ids, const PplOptions& options,
                             const JobContext& job)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const int64_t n = static_cast<int64_t>(ids.size());
    const int64_t context = options.context;
    const int64_t stride = options.stride > 0 ? options.stride : context;
    if (context < 2)
        throw Error("perplexity: context must be at least 2 tokens, got " + std::to_string(context));
    if (stride > context)
        throw Error("perplexity: stride " + std::to_string(stride) + " is larger than the context " +
                    std::to_string(context) + " (tokens between windows would never be scored)");
    if (n < 2)
        throw Error("perplexity: the text has " + std::to_string(n) + " token(s); at least 2 are needed");
    if (options.batch < 0)
        throw Error("perplexity: --batch must be 0 (automatic) or a positive number of windows, got " +
                    std::to_string(options.batch));

    // Windows that score at least one token, in order.
    std::vector<Window> plan;
    for (int64_t begin = 0, prevEnd = 0; begin < n; begin += stride) {
        const int64_t end = std::min(begin + context, n);
        const int64_t firstScored = std::max<int64_t>(1, prevEnd - begin);   // window-relative position
        const int64_t count = (end - begin) - firstScored;
        if (count > 0)
            plan.push_back({begin, end, firstScored, count});
        prevEnd = end;
        if (end == n)
            break;
    }
    const int64_t totalWindows = static_cast<int64_t>(plan.size());
    const int64_t batch = options.batch > 0 ? options.batch : autoBatch(model, context);

    at::Tensor all = at::from_blob(const_cast<int64_t*>(ids.data()), {n}, at::TensorOptions().dtype(at::kLong)).clone();
    // Consecutive windows of one length share a forward pass (no padding, so each row attends exactly as it
    // would alone); only the last, partial window ever runs with a different length. The passes are fixed here,
    // before any runs, so each window's loss is the same whichever worker computes it.
    struct Pass {
        size_t first = 0, last = 0;
    };
    std::vector<Pass> passes;
    for (size_t first = 0; first < plan.size();) {
        const int64_t length = plan[first].end - plan[first].begin;
        size_t last = first + 1;
        while (last < plan.size() && static_cast<int64_t>(last - first) < batch &&
               plan[last].end - plan[last].begin == length)
            ++last;
        passes.push_back({first, last});
        first = last;
    }
    const int64_t workers = std::clamp<int64_t>(options.workers > 0 ? options.workers : autoWorkers(model), 1,
                                                static_cast<int64_t>(passes.size()));
    std::vector<double> windowNll(plan.size());
    auto windowIds = [&](const Pass& pass) {
        std::vector<at::Tensor> rows;
        for (size_t w = pass.first; w < pass.last; ++w)
            rows.push_back(all.slice(0, plan[w].begin, plan[w].end));
        return at::stack(rows);
    };
    auto score = [&](const Pass& pass, const at::Tensor& stacked, const at::Tensor& hidden) {
        for (size_t w = pass.first; w < pass.last; ++w) {
            const Window& win = plan[w];
            const int64_t b = static_cast<int64_t>(w - pass.first);
            // Position t predicts token t+1: score targets firstScored..len-1 from positions firstScored-1..len-2.
            windowNll[w] = sumNll(model, hidden[b].narrow(0, win.firstScored - 1, win.count),
                                  stacked[b].narrow(0, win.firstScored, win.count));
        }
    };
    const int64_t available = availableMemoryBytes();
    const bool layerwise = evaluatesLayerwise(model, options.passes, available);
    int64_t chunks = 0;
    if (!layerwise) {
        std::atomic<int64_t> windowsDone{0};
        runSideBySide(passes.size(), static_cast<int>(workers), [&](size_t index) {
            c10::InferenceMode threadInference;   // thread-local: each worker sets its own
            job.checkCancelled();
            const Pass& pass = passes[index];
            const at::Tensor stacked = windowIds(pass);
            score(pass, stacked, model.hiddenStates(stacked));
            windowsDone += static_cast<int64_t>(pass.last - pass.first);
        }, [&] {
            const int64_t done = windowsDone.load();
            job.report(done, totalWindows, "perplexity window " + std::to_string(done) + "/" + std::to_string(totalWindows));
        });
    } else {
        // Chunks of consecutive passes whose hidden states fit the budget; in each, every layer runs over all of
        // the chunk's passes (side by side) before the next layer.
        const int64_t budget = options.layerwiseBytes > 0 ? options.layerwiseBytes
                                                          : std::max<int64_t>(int64_t(256) << 20, available / 4);
        const int64_t bytesPerToken = model.config().hidden * static_cast<int64_t>(c10::elementSize(model.dtype()));
        const int64_t layers = model.layerCount();
        for (size_t first = 0; first < passes.size();) {
            size_t last = first;
            int64_t bytes = 0;
            do {
                const Pass& p = passes[last];
                bytes += static_cast<int64_t>(p.last - p.first) * (plan[p.first].end - plan[p.first].begin) * bytesPerToken;
                ++last;
            } while (last < passes.size() && bytes < budget);
            const size_t count = last - first;
            std::vector<at::Tensor> ids(count), x(count);
            for (size_t i = 0; i < count; ++i) {
                ids[i] = windowIds(passes[first + i]);
                x[i] = model.embedTokens(ids[i]);
            }
            const int64_t windowsBefore = static_cast<int64_t>(passes[first].first);
            const int64_t windowsIn = static_cast<int64_t>(passes[last - 1].last - passes[first].first);
            for (int64_t l = 0; l < layers; ++l) {
                job.report(windowsBefore * layers + windowsIn * l, totalWindows * layers,
                           "perplexity layer " + std::to_string(l + 1) + "/" + std::to_string(layers) + ", windows " +
                               std::to_string(windowsBefore + 1) + "-" + std::to_string(windowsBefore + windowsIn) +
                               " of " + std::to_string(totalWindows));
                runSideBySide(count, static_cast<int>(workers), [&](size_t i) {
                    c10::InferenceMode threadInference;
                    job.checkCancelled();
                    x[i] = model.layerOutput(l, x[i]);
                });
            }
            runSideBySide(count, static_cast<int>(workers), [&](size_t i) {
                c10::InferenceMode threadInference;
                score(passes[first + i], ids[i], model.finalHidden(x[i]));
                x[i] = at::Tensor();
            });
            ++chunks;
            first = last;
        }
    }
    job.report(totalWindows, totalWindows, "perplexity window " + std::to_string(totalWindows) + "/" + std::to_string(totalWindows));
    // Summed in window order, so the result does not depend on which worker finished first.
    double totalNll = 0, sumWindowMeans = 0;
    int64_t scored = 0, windows = 0;
    for (size_t w = 0; w < plan.size(); ++w) {
        totalNll += windowNll[w];
        sumWindowMeans += windowNll[w] / static_cast<double>(plan[w].count);
        scored += plan[w].count;
        ++windows;
    }

    PplResult r;
    r.windows = windows;
    r.tokens = scored;
    r.inputTokens = n;
    r.nll = totalNll / static_cast<double>(scored);
    r.pplTokenMean = std::exp(r.nll);
    r.pplWindowMean = std::exp(sumWindowMeans / static_cast<double>(windows));
    r.protocol = options.protocol;
    r.ppl = options.protocol == PplProtocol::WindowMean ? r.pplWindowMean : r.pplTokenMean;
    if (!std::isfinite(r.nll) || !std::isfinite(r.pplWindowMean))
        throw Error("perplexity is not finite (mean NLL " + std::to_string(r.nll) +
                    "): the model produced NaN or infinite logits on this text");
    r.context = context;
    r.stride = stride;
    r.batch = batch;
    r.workers = workers;
    r.layerwise = layerwise;
    r.chunks = chunks;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return r;
}

} // namespace basis
