#include "dynamic_rank_eval.h"

#include "decoder_model.h"
#include "dynamic_rank.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>

namespace basis {

RankPplResult evaluateRankPerplexity(DecoderModel& model, const std::vector<int64_t>& ids, const PplOptions& options,
                                     const RankSettings& settings, const JobContext& job,
                                     std::vector<int64_t>* scoredPositions)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const int64_t n = static_cast<int64_t>(ids.size());
    const int64_t context = options.context, P = settings.promptTokens;
    if (options.stride != 0 && options.stride != context)
        throw Error("perplexity with --rank-strategy uses disjoint windows: --stride " + std::to_string(options.stride) +
                    " must be 0 or the context " + std::to_string(context));
    if (context < P + 2)
        throw Error("--prompt-tokens " + std::to_string(P) + " leaves no token to score in a context of " +
                    std::to_string(context) + " (it needs at least P + 2 tokens)");
    if (n < P + 2)
        throw Error("perplexity: the text has " + std::to_string(n) + " tokens; --prompt-tokens " + std::to_string(P) +
                    " needs at least " + std::to_string(P + 2));
    DynamicRank dynamic(model, settings);
    dynamic.resetStatistics();
    dynamic.setMeasuring(true);

    const at::Tensor all = at::tensor(ids, at::TensorOptions().dtype(at::kLong));
    const int64_t totalWindows = (n + context - 1) / context;
    RankPplResult r;
    double totalNll = 0, sumWindowMeans = 0;
    int64_t scored = 0, windows = 0;
    for (int64_t begin = 0; begin < n; begin += context) {
        job.checkCancelled();
        const int64_t len = std::min(context, n - begin);
        if (len < P + 2) {
            ++r.skippedWindows;
            continue;
        }
        const at::Tensor window = all.slice(0, begin, begin + len).unsqueeze(0).to(model.device());
        KVCache cache;
        dynamic.beginPrompt();
        model.hiddenStates(window.narrow(1, 0, P), &cache);
        dynamic.endPrompt();
        const int64_t count = len - 1 - P;
        const at::Tensor hidden = model.hiddenStates(window.narrow(1, P, count), &cache);
        const double nll = sumNll(model, hidden.squeeze(0), window.squeeze(0).narrow(0, P + 1, count));
        if (scoredPositions)
            for (int64_t t = P + 1; t < len; ++t)
                scoredPositions->push_back(begin + t);
        totalNll += nll;
        sumWindowMeans += nll / static_cast<double>(count);
        scored += count;
        ++windows;
        job.report(windows, totalWindows, "perplexity window " + std::to_string(windows) + "/" + std::to_string(totalWindows));
    }
    PplResult& p = r.ppl;
    p.windows = windows;
    p.tokens = scored;
    p.inputTokens = n;
    p.nll = totalNll / static_cast<double>(scored);
    p.pplTokenMean = std::exp(p.nll);
    p.pplWindowMean = std::exp(sumWindowMeans / static_cast<double>(windows));
    p.protocol = options.protocol;
    p.ppl = options.protocol == PplProtocol::WindowMean ? p.pplWindowMean : p.pplTokenMean;
    if (!std::isfinite(p.nll) || !std::isfinite(p.pplWindowMean))
        throw Error("perplexity is not finite (mean NLL " + std::to_string(p.nll) + ") under --rank-strategy " +
                    rankStrategyName(settings.strategy));
    p.context = context;
    p.stride = context;
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    r.rank = dynamic.statistics();
    return r;
}

namespace {

RankMaskSummary summariseMask(const RankMask& m, const RankSlotStatistics& st)
{
    RankMaskSummary s;
    s.layer = m.layer;
    s.part = m.part;
    s.rank = m.rank;
    s.tokens = m.keep.size(0);
    const at::Tensor keep = m.keep.to(at::kByte).contiguous();
    const at::Tensor energy = m.energy.contiguous();
    s.keep.assign(keep.data_ptr<uint8_t>(), keep.data_ptr<uint8_t>() + keep.numel());
    s.energy.assign(energy.data_ptr<float>(), energy.data_ptr<float>() + energy.numel());
    s.meanK = st.meanK;
    s.energyKept = st.energyKept;
    s.keepFrequency.assign(static_cast<size_t>(s.rank), 0.0);
    int64_t blocks = 0, contiguous = 0, prefix = 0;
    for (int64_t t = 0; t < s.tokens; ++t) {
        const uint8_t* row = s.keep.data() + t * s.rank;
        int64_t k = 0, runs = 0;
        for (int64_t j = 0; j < s.rank; ++j) {
            k += row[j];
            s.keepFrequency[static_cast<size_t>(j)] += row[j];
            runs += row[j] && (j == 0 || !row[j - 1]);
        }
        s.kPerToken.push_back(k);
        blocks += runs;
        contiguous += runs == 1;
        prefix += runs == 1 && row[0];
    }
    const double tokens = static_cast<double>(std::max<int64_t>(s.tokens, 1));
    for (double& f : s.keepFrequency)
        f /= tokens;
    s.meanBlocks = static_cast<double>(blocks) / tokens;
    s.contiguousShare = static_cast<double>(contiguous) / tokens;
    s.prefixShare = static_cast<double>(prefix) / tokens;
    return s;
}

} // namespace

RankMaskCapture captureRankMasks(DecoderModel& model, const std::vector<int64_t>& ids, const RankSettings& settings,
                                 const JobContext& job)
{
    c10::InferenceMode inference;
    if (ids.empty())
        throw Error("eval masks: the text has no tokens");
    const at::Tensor input = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0).to(model.device());
    DynamicRank dynamic(model, settings);
    job.report(0, 2, "prefill");
    dynamic.beginPrompt();
    model.hiddenStates(input);
    dynamic.endPrompt();
    job.checkCancelled();
    job.report(1, 2, "capturing masks");
    dynamic.resetStatistics();
    dynamic.setMeasuring(true);
    dynamic.setCapture(true);
    model.hiddenStates(input);
    RankMaskCapture c;
    c.rank = dynamic.statistics();
    const std::vector<RankMask> masks = dynamic.masks();
    double tokens = 0;
    for (size_t i = 0; i < masks.size(); ++i) {
        c.masks.push_back(summariseMask(masks[i], c.rank.projections.at(i)));
        const RankMaskSummary& s = c.masks.back();
        c.contiguousShare += s.contiguousShare * static_cast<double>(s.tokens);
        c.prefixShare += s.prefixShare * static_cast<double>(s.tokens);
        c.meanBlocks += s.meanBlocks * static_cast<double>(s.tokens);
        tokens += static_cast<double>(s.tokens);
    }
    if (tokens > 0) {
        c.contiguousShare /= tokens;
        c.prefixShare /= tokens;
        c.meanBlocks /= tokens;
    }
    job.report(2, 2, "masks captured");
    return c;
}

} // namespace basis
