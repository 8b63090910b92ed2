#include "generate.h"

#include "decoder_model.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace basis {

GenerateResult generateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options, const JobContext& job)
{
    c10::InferenceMode inference;
    if (prompt.empty())
        throw Error("generate: the prompt has no tokens (start from BOS for an empty prompt)");
    using Clock = std::chrono::steady_clock;
    GenerateResult r;
    r.tokens = prompt;
    r.promptTokens = static_cast<int64_t>(prompt.size());
    const auto eos = model.config().eosId;

    KVCache cache;
    auto t0 = Clock::now();
    at::Tensor ids = at::tensor(prompt, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
    at::Tensor logits = model.forward(ids, &cache, /*lastOnly=*/true);
    r.prefillSeconds = std::chrono::duration<double>(Clock::now() - t0).count();
    auto t1 = Clock::now();
    for (int64_t i = 0; i < options.maxNewTokens; ++i) {
        job.checkCancelled();
        const int64_t next = logits.reshape({-1}).argmax().item<int64_t>();
        r.tokens.push_back(next);
        if (options.onToken)
            options.onToken(next);
        job.report(i + 1, options.maxNewTokens, "generating");
        if (options.stopAtEos && eos && next == *eos)
            break;
        if (i + 1 == options.maxNewTokens)
            break;
        logits = model.forward(at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong)), &cache, true);
    }
    r.decodeSeconds = std::chrono::duration<double>(Clock::now() - t1).count();
    return r;
}

} // namespace basis
