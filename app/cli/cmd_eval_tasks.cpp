// basis-cli eval tasks: zero-shot multiple choice scored like lm-evaluation-harness, with its results layout.
#include "cli_progress.h"
#include "commands.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "error.h"
#include "multiple_choice.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>

namespace basis::cli {

namespace {

nlohmann::json stderrJson(const std::optional<double>& s)
{
    return s ? nlohmann::json(*s) : nlohmann::json("N/A");
}

std::string stderrText(const std::optional<double>& s)
{
    if (!s)
        return "   N/A";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4f", *s);
    return buf;
}

// Non-blank lines of the task file: lm-eval's "original" sample count, which --limit cuts to "effective".
int64_t documentCount(const std::string& file)
{
    std::istringstream in(readFile(file));
    int64_t n = 0;
    for (std::string line; std::getline(in, line);)
        n += line.find_first_not_of(" \t\r\n") != std::string::npos;
    return n;
}

} // namespace

int runEvalTasks(const TasksArgs& a)
{
    const McTaskInfo& task = mcTask(a.task);
    const BosPolicy bos = parseBosPolicy(a.bos);
    if (a.limit < 0)
        throw Error("--limit must be 0 (every item) or more (got " + std::to_string(a.limit) + ")");
    const std::vector<McItem> items = readMcTaskFile(task.name, a.data, a.limit);
    const int threads = applyThreads(a.run.threads);
    auto tokenizer = loadTokenizer(a.model);
    auto model = DecoderModel::load(a.model, RunOptions{a.run.device, a.run.dtype, threads});

    McOptions options;
    options.batch = a.batch;
    options.bos = bos;
    StderrProgress progress(task.name);
    const McResult r = evaluateMultipleChoice(*model, *tokenizer, items, options, cliJob(progress), task.name);
    progress.finish();

    if (a.json || a.jsonPretty) {
        nlohmann::json metrics = {{"alias", task.name}, {"acc,none", r.acc}, {"acc_stderr,none", stderrJson(r.accStderr)}};
        nlohmann::json better = {{"acc", true}};
        if (task.accNorm) {
            metrics["acc_norm,none"] = r.accNorm;
            metrics["acc_norm_stderr,none"] = stderrJson(r.accNormStderr);
            better["acc_norm"] = true;
        }
        nlohmann::json j;
        j["results"][task.name] = metrics;
        j["n-shot"][task.name] = 0;
        j["higher_is_better"][task.name] = better;
        j["n-samples"][task.name] = {{"original", documentCount(a.data)}, {"effective", r.items}};
        j["config"] = {{"model", "basis-studio"}, {"model_args", "pretrained=" + a.model},
                       {"data", a.data}, {"batch_size", r.batch}, {"device", model->device().str()},
                       {"dtype", a.run.dtype}, {"threads", threads}, {"limit", a.limit > 0 ? nlohmann::json(a.limit) : nlohmann::json()},
                       {"bos", bosPolicyName(bos)}, {"bos_added", r.bosAdded}, {"max_length", r.maxLength}};
        j["stats"] = {{"requests", r.requests}, {"forwards", r.forwards}, {"tokens", r.tokens},
                      {"padded_tokens", r.paddedTokens}, {"truncated", r.truncated}};
        j["total_evaluation_time_seconds"] = std::to_string(r.seconds);
        // --json keeps the contract of every command: the last line of standard output is one JSON object.
        std::cout << (a.jsonPretty ? j.dump(2) : j.dump()) << std::endl;
        return 0;
    }
    std::printf("basis-studio (pretrained=%s), %s, limit: %s, bos: %s, batch_size: %lld, %s, %d threads\n",
                a.model.c_str(), a.data.c_str(), a.limit > 0 ? std::to_string(a.limit).c_str() : "None",
                r.bosAdded ? "added" : "none", (long long)r.batch, model->device().str().c_str(), threads);
    std::printf("|%-13s|n-shot|  n  | Metric |   |Value |   |Stderr|\n", "Tasks");
    std::printf("|-------------|-----:|----:|--------|---|-----:|---|-----:|\n");
    std::printf("|%-13s|     0|%5lld|acc     |^  |%.4f|±  |%s|\n", task.name.c_str(), (long long)r.items, r.acc,
                stderrText(r.accStderr).c_str());
    if (task.accNorm)
        std::printf("|%-13s|      |     |acc_norm|^  |%.4f|±  |%s|\n", "", r.accNorm, stderrText(r.accNormStderr).c_str());
    std::printf("%lld requests in %lld forward passes (%lld tokens + %lld padding), %lld truncated; %.2f s\n",
                (long long)r.requests, (long long)r.forwards, (long long)r.tokens, (long long)r.paddedTokens,
                (long long)r.truncated, r.seconds);
    return 0;
}

} // namespace basis::cli
