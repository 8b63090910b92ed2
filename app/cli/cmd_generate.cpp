// basis-cli generate: greedy continuation of a prompt (or of BOS), streamed to stdout.
#include "cli_progress.h"
#include "cli_rank.h"
#include "commands.h"

#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runGenerate(const GenerateArgs& a)
{
    Workspace ws;
    ws.load(a.model, a.run, loadJob());
    GenerateJobOptions options = a.generate;
    options.bothModels = false;   // the folder as it is, dense or compressed
    options.compressed = false;
    // Stream what is new of the whole decoded text: SentencePiece and byte-level BPE both need context to place
    // spaces and join multi-byte characters, so a token's piece is not printed alone.
    bool started = false;
    std::string shown;
    auto stream = [&](const GenerationOutput& out) {
        if (a.json)
            return;
        if (!started) {
            std::fputs(out.promptText.c_str(), stdout);
            started = true;
        }
        if (out.text.size() >= shown.size() && out.text.compare(0, shown.size(), shown) == 0) {
            std::fputs(out.text.c_str() + shown.size(), stdout);
            std::fflush(stdout);
        }
        shown = out.text;
    };
    const GenerationOutput r = ws.generate(options, cliJob(), stream).front();
    if (!a.json)
        std::printf("\n");
    std::fprintf(stderr, "[generate] %lld prompt tokens, %lld new tokens; prefill %.3f s, decode %.1f tokens/s\n",
                 (long long)r.promptTokens, (long long)r.newTokens, r.prefillSeconds,
                 r.decodeSeconds > 0 ? r.newTokens / r.decodeSeconds : 0.0);
    if (r.rank && !a.json)
        printRank(*r.rank);
    if (a.json) {
        nlohmann::json j = {{"text", r.wholeText}, {"tokens", r.tokens},
                            {"prompt_tokens", r.promptTokens}, {"new_tokens", r.newTokens},
                            {"prefill_seconds", r.prefillSeconds}, {"decode_seconds", r.decodeSeconds}};
        if (r.rank)
            j["rank"] = rankJson(*r.rank);
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
