#include "multiple_choice.h"

#include "decoder_model.h"
#include "error.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

namespace basis {

namespace {

// One (item, choice) request, tokenized and cut to the model's context as lm-eval's _loglikelihood_tokens does.
struct Request {
    size_t item = 0, choice = 0;
    std::vector<int64_t> input;     // (context + continuation)[-(maxLength + 1):][:-1]
    std::vector<int64_t> targets;   // the continuation tokens scored: the last contLen tokens of the kept span
};

Request makeRequest(const McEncoded& enc, int64_t maxLength, bool* truncated)
{
    std::vector<int64_t> full = enc.context;
    full.insert(full.end(), enc.continuation.begin(), enc.continuation.end());
    *truncated = static_cast<int64_t>(full.size()) > maxLength + 1;
    if (*truncated)
        full.erase(full.begin(), full.end() - (maxLength + 1));
    Request r;
    r.input.assign(full.begin(), full.end() - 1);
    const size_t contLen = std::min(enc.continuation.size(), r.input.size());
    r.targets.assign(full.end() - static_cast<std::ptrdiff_t>(contLen), full.end());
    return r;
}

// Index of the first maximum, as numpy's argmax.
int64_t argmax(const std::vector<double>& v)
{
    int64_t best = 0;
    for (size_t i = 1; i < v.size(); ++i)
        if (v[i] > v[best])
            best = static_cast<int64_t>(i);
    return best;
}

} // namespace

McEncoded encodeLoglikelihoodPair(const Tokenizer& tokenizer, const std::string& contextIn,
                                  const std::string& continuationIn, bool bos)
{
    std::string context = contextIn, continuation = continuationIn;
    const size_t keep = context.find_last_not_of(" \t\n\r\v\f");
    const size_t cut = keep == std::string::npos ? 0 : keep + 1;
    continuation = context.substr(cut) + continuation;
    context.resize(cut);

    McEncoded out;
    if (context.empty()) {
        const std::optional<int64_t> prefix = tokenizer.bosId() ? tokenizer.bosId() : tokenizer.eosId();
        if (!prefix)
            throw Error("an empty context needs a BOS or EOS token to condition on; this tokenizer has neither");
        out.context = {*prefix};
        out.continuation = tokenizer.encode(continuation);
        return out;
    }
    const std::vector<int64_t> whole = tokenizer.encode(context + continuation);
    out.context = tokenizer.encode(context);
    if (out.context.size() < whole.size())
        out.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(out.context.size()), whole.end());
    if (bos) {
        if (!tokenizer.bosId())
            throw Error("--bos always: this tokenizer defines no BOS token");
        out.context.insert(out.context.begin(), *tokenizer.bosId());
    }
    return out;
}

std::optional<double> meanStderr(double p, int64_t n)
{
    if (n < 2)
        return std::nullopt;
    // Sample standard deviation of n 0/1 outcomes over sqrt(n): sqrt(n p (1-p) / (n-1)) / sqrt(n).
    return std::sqrt(std::max(0.0, p * (1.0 - p)) / static_cast<double>(n - 1));
}

McResult evaluateMultipleChoice(const DecoderModel& model, const Tokenizer& tokenizer, const std::vector<McItem>& items,
                                const McOptions& options, const JobContext& job, const std::string& task)
{
    c10::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    if (items.empty())
        throw Error("multiple choice: no items to score");
    if (options.batch < 1)
        throw Error("--batch must be at least 1 (got " + std::to_string(options.batch) + ")");
    const int64_t maxLength = options.maxLength > 0 ? options.maxLength : model.config().maxPositions;
    if (maxLength < 2)
        throw Error("multiple choice: the model's context (" + std::to_string(maxLength) + " positions) is too short");
    const bool bos = options.bos == BosPolicy::Always ||
                     (options.bos == BosPolicy::Auto && tokenizer.addsBos() && tokenizer.bosId());

    McResult result;
    result.task = task;
    result.items = static_cast<int64_t>(items.size());
    result.bosAdded = bos;
    result.batch = options.batch;
    result.maxLength = maxLength;
    result.scores.resize(items.size());

    std::vector<Request> requests;
    for (size_t i = 0; i < items.size(); ++i) {
        const McItem& item = items[i];
        if (item.choices.empty())
            throw Error("multiple choice: item " + std::to_string(i) + " has no choices");
        result.scores[i].logLikelihoods.assign(item.choices.size(), 0.0);
        result.scores[i].greedy.assign(item.choices.size(), true);
        for (size_t c = 0; c < item.choices.size(); ++c) {
            bool truncated = false;
            Request r = makeRequest(encodeLoglikelihoodPair(tokenizer, item.choices[c].context, item.choices[c].continuation, bos),
                                    maxLength, &truncated);
            r.item = i;
            r.choice = c;
            result.truncated += truncated ? 1 : 0;
            if (!r.targets.empty())   // an empty continuation has log-likelihood 0
                requests.push_back(std::move(r));
        }
        job.checkCancelled();
    }
    result.requests = static_cast<int64_t>(requests.size());

    // Longest first: rows of similar length share a batch, so little padding is run.
    std::vector<size_t> order(requests.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return requests[a].input.size() > requests[b].input.size(); });

    const int64_t pad = tokenizer.eosId().value_or(0);
    const int64_t vocab = model.config().vocabSize;
    const int64_t rowChunk = std::max<int64_t>(16, (24 << 20) / (4 * std::max<int64_t>(1, vocab)));
    const int64_t total = static_cast<int64_t>(order.size());
    job.report(0, total, "scoring choices");
    for (int64_t b0 = 0; b0 < total; b0 += options.batch) {
        job.checkCancelled();
        const int64_t rows = std::min(options.batch, total - b0);
        const int64_t T = static_cast<int64_t>(requests[order[b0]].input.size());
        at::Tensor ids = at::full({rows, T}, pad, at::kLong);
        auto acc = ids.accessor<int64_t, 2>();
        std::vector<int64_t> positions, targets;
        for (int64_t r = 0; r < rows; ++r) {
            const Request& q = requests[order[b0 + r]];
            const int64_t len = static_cast<int64_t>(q.input.size());
            for (int64_t t = 0; t < len; ++t)
                acc[r][t] = q.input[t];
            // Logits at positions len - contLen .. len - 1 predict the continuation tokens.
            const int64_t contLen = static_cast<int64_t>(q.targets.size());
            for (int64_t k = 0; k < contLen; ++k) {
                positions.push_back(r * T + len - contLen + k);
                targets.push_back(q.targets[k]);
            }
            result.tokens += len;
            result.paddedTokens += T - len;
        }
        at::Tensor hidden = model.hiddenStates(ids);
        hidden = hidden.reshape({rows * T, hidden.size(-1)});
        const auto dev = hidden.device();
        at::Tensor pos = at::tensor(positions, at::kLong).to(dev);
        at::Tensor tgt = at::tensor(targets, at::kLong).to(dev);
        const int64_t n = static_cast<int64_t>(positions.size());
        std::vector<double> logp(n);
        std::vector<uint8_t> hit(n);
        for (int64_t s = 0; s < n; s += rowChunk) {
            const int64_t m = std::min(rowChunk, n - s);
            at::Tensor logits = model.logits(hidden.index_select(0, pos.narrow(0, s, m)));
            at::Tensor t = tgt.narrow(0, s, m);
            at::Tensor lp = at::log_softmax(logits, -1).gather(1, t.unsqueeze(1)).squeeze(1).to(at::kDouble).cpu();
            at::Tensor greedy = logits.argmax(-1).eq(t).to(at::kByte).cpu();
            std::copy_n(lp.data_ptr<double>(), m, logp.begin() + s);
            std::copy_n(greedy.data_ptr<uint8_t>(), m, hit.begin() + s);
        }
        int64_t k = 0;
        for (int64_t r = 0; r < rows; ++r) {
            const Request& q = requests[order[b0 + r]];
            double sum = 0;
            bool greedy = true;
            for (size_t j = 0; j < q.targets.size(); ++j, ++k) {
                sum += logp[k];
                greedy = greedy && hit[k];
            }
            result.scores[q.item].logLikelihoods[q.choice] = sum;
            result.scores[q.item].greedy[q.choice] = greedy;
        }
        ++result.forwards;
        job.report(b0 + rows, total, "scoring choices");
    }

    int64_t correct = 0, correctNorm = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        McItemScore& s = result.scores[i];
        std::vector<double> normed(s.logLikelihoods.size());
        for (size_t c = 0; c < normed.size(); ++c)
            normed[c] = s.logLikelihoods[c] / static_cast<double>(utf8Length(items[i].choices[c].text));
        s.prediction = argmax(s.logLikelihoods);
        s.predictionNorm = argmax(normed);
        s.correct = s.prediction == items[i].gold;
        s.correctNorm = s.predictionNorm == items[i].gold;
        correct += s.correct;
        correctNorm += s.correctNorm;
    }
    const double n = static_cast<double>(items.size());
    result.acc = correct / n;
    result.accNorm = correctNorm / n;
    result.accStderr = meanStderr(result.acc, result.items);
    result.accNormStderr = meanStderr(result.accNorm, result.items);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace basis
