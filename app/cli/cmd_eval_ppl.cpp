// basis-cli eval ppl: perplexity of a text file or a dataset preset, protocol and text recipe stated in every output.
#include "cli_progress.h"
#include "commands.h"

#include "datasets.h"
#include "error.h"
#include "decoder_model.h"
#include "perplexity.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runEvalPpl(const PplArgs& a)
{
    const int threads = applyThreads(a.run.threads);
    const PplProtocol protocol = parseProtocol(a.protocol);
    const BosPolicy bos = parseBosPolicy(a.bos);
    auto tokenizer = loadTokenizer(a.model);
    if (a.text.empty() == a.dataset.empty())
        throw Error("eval ppl needs exactly one of --text FILE and --dataset NAME");
    const DatasetText data = !a.text.empty() ? loadTextFile(a.text)
                                             : loadDataset(a.dataset, a.dataDir, DatasetOptions{a.split, a.maxDocuments});
    bool bosAdded = false;
    const std::vector<int64_t> ids = tokenizeForEvaluation(*tokenizer, data.text, bos, &bosAdded);
    auto model = DecoderModel::load(a.model, RunOptions{a.run.device, a.run.dtype, threads});

    PplOptions options;
    options.context = a.context;
    options.stride = a.stride;
    options.protocol = protocol;
    StderrProgress progress("ppl");
    const JobContext job = cliJob(progress);
    const PplResult r = evaluatePerplexity(*model, ids, options, job);
    progress.finish();

    const std::string bosText = bosAdded ? "BOS once at the start" : "no BOS";
    const double tps = r.seconds > 0 ? static_cast<double>(r.inputTokens) / r.seconds : 0.0;
    std::printf("Final estimate: PPL = %.6f  (%s; context %lld, stride %lld, %s; %lld windows, %lld scored tokens)\n",
                r.ppl, protocolName(r.protocol).c_str(), (long long)r.context, (long long)r.stride, bosText.c_str(),
                (long long)r.windows, (long long)r.tokens);
    std::printf("  window-mean PPL %.6f, token-mean PPL %.6f, mean NLL %.6f; %.2f s, %.1f tokens/s (%s, %s, %d threads)\n",
                r.pplWindowMean, r.pplTokenMean, r.nll, r.seconds, tps, model->device().str().c_str(), a.run.dtype.c_str(),
                threads);
    std::printf("  text: %s; %s\n", data.recipe.c_str(), bosAdded ? "BOS once at the start" : "no BOS");
    if (a.json) {
        nlohmann::json j = {{"ppl", r.ppl}, {"nll", r.nll}, {"tokens", r.tokens}, {"windows", r.windows},
                            {"protocol", protocolName(r.protocol)}, {"context", r.context}, {"stride", r.stride},
                            {"bos", bosPolicyName(bos)}, {"bos_added", bosAdded}, {"seconds", r.seconds},
                            {"tokens_per_second", tps}, {"ppl_window_mean", r.pplWindowMean},
                            {"ppl_token_mean", r.pplTokenMean}, {"input_tokens", r.inputTokens}, {"model", a.model},
                            {"text", data.file.string()}, {"dataset", data.name},
                            {"recipe", data.recipe}, {"device", model->device().str()}, {"dtype", a.run.dtype},
                            {"threads", threads}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
