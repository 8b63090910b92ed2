// basis-cli eval tasks: zero-shot multiple choice scored like lm-evaluation-harness, with its results layout.
#include "cli_progress.h"
#include "commands.h"

#include "error.h"
#include "multiple_choice.h"
#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

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

} // namespace

int runEvalTasks(const TasksArgs& a)
{
    const McTaskInfo& task = mcTask(a.tasks.task);
    const BosPolicy bos = parseBosPolicy(a.tasks.bos);
    if (a.tasks.limit < 0)
        throw Error("--limit must be 0 (every item) or more (got " + std::to_string(a.tasks.limit) + ")");
    Workspace ws;
    const ModelSummary model = ws.load(a.model, a.run, loadJob());
    StderrProgress progress(task.name);
    const TasksSummary s = ws.tasks(a.tasks, cliJob(progress));
    progress.finish();
    const McResult& r = s.result;
    const std::string data = a.tasks.data.string();

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
        j["n-samples"][task.name] = {{"original", s.originalItems}, {"effective", r.items}};
        j["config"] = {{"model", "basis-studio"}, {"model_args", "pretrained=" + a.model},
                       {"data", data}, {"batch_size", r.batch}, {"device", model.device}, {"weights", model.weights},
                       {"dtype", a.run.dtype}, {"threads", model.threads},
                       {"limit", a.tasks.limit > 0 ? nlohmann::json(a.tasks.limit) : nlohmann::json()},
                       {"bos", bosPolicyName(bos)}, {"bos_added", r.bosAdded}, {"max_length", r.maxLength}};
        j["stats"] = {{"requests", r.requests}, {"forwards", r.forwards}, {"tokens", r.tokens},
                      {"padded_tokens", r.paddedTokens}, {"truncated", r.truncated}};
        j["total_evaluation_time_seconds"] = std::to_string(r.seconds);
        // --json keeps the contract of every command: the last line of standard output is one JSON object.
        std::cout << (a.jsonPretty ? j.dump(2) : j.dump()) << std::endl;
        return 0;
    }
    std::printf("basis-studio (pretrained=%s), %s, limit: %s, bos: %s, batch_size: %lld, %s, %d threads\n",
                a.model.c_str(), data.c_str(), a.tasks.limit > 0 ? std::to_string(a.tasks.limit).c_str() : "None",
                r.bosAdded ? "added" : "none", (long long)r.batch, model.device.c_str(), model.threads);
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
