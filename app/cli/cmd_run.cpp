// basis-cli run --config / config check: the YAML-driven pipeline.
#include "cli_progress.h"
#include "commands.h"

#include "error.h"
#include "model_location.h"
#include "pipeline.h"
#include "run_config.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

namespace {

LoadedConfig load(const std::string& file, const std::vector<std::string>& overrides)
{
    LoadedConfig loaded = loadRunConfig(file, overrides);
    for (const auto& w : loaded.warnings)
        std::fprintf(stderr, "%s\n", w.text.c_str());
    return loaded;
}

} // namespace

int runConfigCheck(const ConfigArgs& a)
{
    const LoadedConfig loaded = load(a.config, a.set);
    size_t warnings = loaded.warnings.size();
    bool modelFound = false;
    // The model need not be on this machine for the config to be valid; say where it is, or what `run` will need.
    try {
        const ModelLocation model = locateModel(loaded.config.modelPath);
        if (!std::filesystem::is_directory(model.folder))
            throw Error(model.folder.string() + ": not a folder (expected a Hugging Face model folder with config.json)");
        std::fprintf(stderr, "model %s\n", model.description.c_str());
        modelFound = true;
    } catch (const Error& e) {
        ++warnings;
        std::fprintf(stderr, "%s: warning: %s; `basis-cli run` needs it there\n", a.config.c_str(), e.what());
    }
    std::fputs(writeRunConfig(loaded.config, "resolved from " + a.config + " (defaults filled in)").c_str(), stdout);
    std::fprintf(stderr, "%s: valid (%zu warning%s)\n", a.config.c_str(), warnings, warnings == 1 ? "" : "s");
    if (a.json) {
        std::vector<std::string> messages;
        for (const ConfigMessage& m : loaded.warnings)
            messages.push_back(m.text);
        std::cout << nlohmann::json{{"config", a.config}, {"valid", true}, {"warnings", warnings},
                                    {"messages", messages}, {"model_found", modelFound}}
                         .dump()
                  << std::endl;
    }
    return 0;
}

int runPipelineCommand(const ConfigArgs& a)
{
    const LoadedConfig loaded = load(a.config, a.set);
    std::string current = "start";
    std::unique_ptr<StderrProgress> progress;
    PipelineHooks hooks;
    hooks.onStage = [&](const std::string& stage) {
        if (progress)
            progress->finish();
        current = stage;
        progress = std::make_unique<StderrProgress>(stage);
        std::fprintf(stderr, "[run] stage %s\n", stage.c_str());
    };
    hooks.job.progress = [&](int64_t done, int64_t total, const std::string& what) {
        if (progress)
            (*progress)(done, total, what);
    };
    hooks.job.cancel = interruptToken();
    hooks.job.log = logLine;
    const nlohmann::json out = runPipeline(loaded.config, hooks);
    if (progress)
        progress->finish();
    for (auto it = out.at("results").begin(); it != out.at("results").end(); ++it) {
        if (it.value().contains("prefill_tokens_per_second,none")) {
            std::printf("%s: prefill %.1f tokens/s, decode %.1f tokens/s, first token after %.3f s\n", it.key().c_str(),
                        it.value().at("prefill_tokens_per_second,none").get<double>(),
                        it.value().at("decode_tokens_per_second,none").get<double>(),
                        it.value().at("time_to_first_token_seconds,none").get<double>());
            continue;
        }
        if (it.value().contains("acc,none")) {
            std::printf("%s: acc %.4f", it.key().c_str(), it.value().at("acc,none").get<double>());
            if (it.value().contains("acc_norm,none"))
                std::printf(", acc_norm %.4f", it.value().at("acc_norm,none").get<double>());
            std::printf(" (%lld items, zero-shot)\n", (long long)it.value().at("samples").get<int64_t>());
            continue;
        }
        std::printf("%s: PPL %.6f (%s; window-mean %.6f, token-mean %.6f; %lld windows, %lld tokens)\n", it.key().c_str(),
                    it.value().at("ppl,none").get<double>(), it.value().at("protocol").get<std::string>().c_str(),
                    it.value().at("ppl_window_mean,none").get<double>(), it.value().at("ppl_token_mean,none").get<double>(),
                    (long long)it.value().at("windows").get<int64_t>(), (long long)it.value().at("tokens").get<int64_t>());
    }
    if (out.contains("results_file"))
        std::printf("results written to %s\n", out.at("results_file").get<std::string>().c_str());
    if (a.json)
        std::cout << out.dump() << std::endl;
    return 0;
}

} // namespace basis::cli
