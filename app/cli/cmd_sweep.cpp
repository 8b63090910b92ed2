// basis-cli sweep --config S.yaml: every setting of the config's sweep: section, written as each finishes.
#include "cli_progress.h"
#include "commands.h"

#include "run_config.h"
#include "sweep.h"

#include <cstdio>
#include <iostream>
#include <memory>

namespace basis::cli {

namespace {

// "ppl_tinystories_512 12.3456" for each perplexity of a record, "hellaswag acc 0.2810", ...
std::string resultsLine(const nlohmann::json& record)
{
    std::string line;
    char buf[160];
    for (auto it = record.at("results").begin(); it != record.at("results").end(); ++it) {
        const nlohmann::json& v = it.value();
        if (v.contains("ppl,none"))
            std::snprintf(buf, sizeof buf, "%s %.6f (window-mean %.6f, token-mean %.6f)", it.key().c_str(),
                          v.at("ppl,none").get<double>(), v.at("ppl_window_mean,none").get<double>(),
                          v.at("ppl_token_mean,none").get<double>());
        else if (v.contains("acc,none"))
            std::snprintf(buf, sizeof buf, "%s acc %.4f", it.key().c_str(), v.at("acc,none").get<double>());
        else if (v.contains("decode_tokens_per_second,none"))
            std::snprintf(buf, sizeof buf, "%s decode %.1f tokens/s", it.key().c_str(),
                          v.at("decode_tokens_per_second,none").get<double>());
        else
            continue;
        line += (line.empty() ? "" : "; ") + std::string(buf);
    }
    return line;
}

} // namespace

int runSweepCommand(const ConfigArgs& a)
{
    LoadedConfig loaded = loadRunConfig(a.config, a.set);
    for (const auto& w : loaded.warnings)
        std::fprintf(stderr, "%s\n", w.text.c_str());
    std::unique_ptr<StderrProgress> progress;
    SweepHooks hooks;
    hooks.job = {[&](int64_t done, int64_t total, const std::string& what) {
                     if (progress)
                         (*progress)(done, total, what);
                 },
                 interruptToken(), logLine};
    hooks.onRun = [&](size_t i, size_t n, const SweepPoint& run, const nlohmann::json* record, bool resumed) {
        if (!record) {
            std::fprintf(stderr, "[sweep] %zu/%zu %s\n", i + 1, n, run.id.c_str());
            progress = std::make_unique<StderrProgress>(run.id);
            return;
        }
        if (progress)
            progress->finish();
        progress.reset();
        const double kept = record->at("parameters").value("kept_percent_of_model", 0.0);
        std::printf("%3zu/%zu %-40s %6.2f %% kept  %s%s\n", i + 1, n, run.id.c_str(), kept, resultsLine(*record).c_str(),
                    resumed ? "  (from the results file)" : "");
        std::fflush(stdout);
    };
    const SweepOutcome out = runSweep(loaded.config, hooks);
    std::printf("sweep: %zu run(s) made, %zu read back, in %.1f s; results %s and %s\n", out.ran, out.resumed, out.seconds,
                out.jsonl.string().c_str(), out.csv.string().c_str());
    if (a.json) {
        nlohmann::json runs = nlohmann::json::array();
        for (const nlohmann::json& r : out.records)
            runs.push_back({{"run_id", r.at("run_id")}, {"config", r.value("config", nlohmann::json())},
                            {"parameters", r.value("parameters", nlohmann::json())}, {"results", r.at("results")}});
        std::cout << nlohmann::json{{"results_file", out.jsonl.string()}, {"csv_file", out.csv.string()},
                                    {"ran", out.ran}, {"resumed", out.resumed}, {"seconds", out.seconds}, {"runs", runs}}
                         .dump()
                  << std::endl;
    }
    return 0;
}

} // namespace basis::cli
