// basis-cli eval ppl: perplexity of a text file or a dataset preset, protocol and text recipe stated in every output.
#include "cli_progress.h"
#include "cli_memory.h"
#include "cli_rank.h"
#include "commands.h"

#include "error.h"
#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runEvalPpl(const PplArgs& a)
{
    if (a.ppl.text.empty() == a.ppl.dataset.empty())
        throw Error("eval ppl needs exactly one of --text FILE and --dataset NAME");
    Workspace ws;
    const ModelSummary model = ws.load(a.model, a.run, loadJob());
    StderrProgress progress("ppl");
    const PerplexitySummary s = ws.perplexity(a.ppl, cliJob(progress));
    progress.finish();

    const PplResult& r = s.result;
    const std::string bosText = s.bosAdded ? "BOS once at the start" : "no BOS";
    const double tps = r.seconds > 0 ? static_cast<double>(r.inputTokens) / r.seconds : 0.0;
    std::printf("Final estimate: PPL = %.6f  (%s; context %lld, stride %lld, %s; %lld windows, %lld scored tokens)\n",
                r.ppl, protocolName(r.protocol).c_str(), (long long)r.context, (long long)r.stride, bosText.c_str(),
                (long long)r.windows, (long long)r.tokens);
    std::printf("  window-mean PPL %.6f, token-mean PPL %.6f, mean NLL %.6f; %.2f s, %.1f tokens/s (batch %lld; %s, %s, %d threads)\n",
                r.pplWindowMean, r.pplTokenMean, r.nll, r.seconds, tps, (long long)r.batch, model.device.c_str(), a.run.dtype.c_str(),
                model.threads);
    std::printf("  text: %s; %s\n", s.recipe.c_str(), bosText.c_str());
    if (r.layerwise)
        std::printf("  a layer at a time over the windows: the model read %lld time(s), once per chunk of windows\n",
                    (long long)r.chunks);
    printWeightsPlacement(model);
    printMemory();
    if (s.rank) {
        std::printf("  prompt protocol: the first %lld tokens of each window at full rank and not scored; %lld short "
                    "window(s) skipped\n", (long long)s.promptTokens, (long long)s.skippedWindows);
        printRank(*s.rank);
    }
    if (a.json) {
        nlohmann::json j = {{"ppl", r.ppl}, {"nll", r.nll}, {"tokens", r.tokens}, {"windows", r.windows},
                            {"protocol", protocolName(r.protocol)}, {"context", r.context}, {"stride", r.stride},
                            {"bos", bosPolicyName(parseBosPolicy(a.ppl.bos))}, {"bos_added", s.bosAdded},
                            {"seconds", r.seconds}, {"batch", r.batch}, {"tokens_per_second", tps}, {"ppl_window_mean", r.pplWindowMean},
                            {"ppl_token_mean", r.pplTokenMean}, {"input_tokens", r.inputTokens}, {"model", a.model},
                            {"text", s.file.string()}, {"dataset", a.ppl.dataset.empty() ? std::string() : s.source},
                            {"recipe", s.recipe}, {"device", model.device}, {"weights", model.weights}, {"dtype", a.run.dtype},
                            {"threads", model.threads}, {"memory", memoryJson()},
                            {"passes", r.layerwise ? "layerwise" : "whole"}, {"chunks", r.chunks}};
        if (s.rank) {
            j["rank"] = rankJson(*s.rank);
            j["skipped_windows"] = s.skippedWindows;
        }
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
