// basis-cli generate: greedy continuation of a prompt (or of BOS), streamed to stdout.
#include "commands.h"

#include "decoder_model.h"
#include "error.h"
#include "generate.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runGenerate(const GenerateArgs& a)
{
    const int threads = applyThreads(a.run.threads);
    auto tokenizer = loadTokenizer(a.model);
    auto model = DecoderModel::load(a.model, RunOptions{a.run.device, a.run.dtype, threads});

    std::vector<int64_t> prompt;
    if (tokenizer->bosId() && (a.prompt.empty() || tokenizer->addsBos()))
        prompt.push_back(*tokenizer->bosId());
    const auto body = tokenizer->encode(a.prompt);
    prompt.insert(prompt.end(), body.begin(), body.end());
    if (prompt.empty())
        throw Error("generate: empty prompt and the tokenizer defines no BOS token to start from");

    GenerateOptions options;
    options.maxNewTokens = a.maxNewTokens;
    options.stopAtEos = !a.ignoreEos;
    // Stream by decoding the whole sequence and printing what is new: SentencePiece and byte-level BPE
    // both need context to place spaces and join multi-byte characters.
    std::vector<int64_t> seq = prompt;
    std::string shown = tokenizer->decode(seq);
    if (!a.json)
        std::fputs(shown.c_str(), stdout);
    options.onToken = [&](int64_t token) {
        seq.push_back(token);
        std::string now = tokenizer->decode(seq);
        if (!a.json && now.size() >= shown.size() && now.compare(0, shown.size(), shown) == 0) {
            std::fputs(now.c_str() + shown.size(), stdout);
            std::fflush(stdout);
        }
        shown = now;
    };
    const GenerateResult r = generateGreedy(*model, prompt, options);
    const int64_t generated = static_cast<int64_t>(r.tokens.size()) - r.promptTokens;
    if (!a.json)
        std::printf("\n");
    std::fprintf(stderr, "[generate] %lld prompt tokens, %lld new tokens; prefill %.3f s, decode %.1f tokens/s\n",
                 (long long)r.promptTokens, (long long)generated, r.prefillSeconds,
                 r.decodeSeconds > 0 ? generated / r.decodeSeconds : 0.0);
    if (a.json) {
        nlohmann::json j = {{"text", tokenizer->decode(r.tokens)}, {"tokens", r.tokens},
                            {"prompt_tokens", r.promptTokens}, {"new_tokens", generated},
                            {"prefill_seconds", r.prefillSeconds}, {"decode_seconds", r.decodeSeconds}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
