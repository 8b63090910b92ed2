// basis-cli search: the surgical rank search (Workspace::search), each trial printed as it is made.
#include "cli_progress.h"
#include "commands.h"

#include "error.h"
#include "feature_space_settings.h"
#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace basis::cli {

int runSearch(const SearchArgs& a)
{
    Workspace ws;
    if (ws.load(a.model, a.run, loadJob()).compressed)
        throw Error(a.model + ": this folder is already compressed; search on the original model");
    SearchOptions options = a.search;
    options.context = a.calibration.context;
    if (std::filesystem::is_directory(a.calib)) {
        ws.useCalibrationCache(a.calib, cliJob());
    } else {
        CalibrateOptions calib = a.calibration;
        calib.text = a.calib;
        StderrProgress progress("calibrate");
        ws.calibrate(calib, cliJob(progress));
        progress.finish();
    }
    std::printf("%-6s %-14s %8s %6s %12s %12s  %s\n", "layer", "part", "fraction", "rank", "ppl", "parameters", "");
    std::fflush(stdout);
    StderrProgress progress("search");
    const SearchSummary s = ws.search(options, cliJob(progress), [](const SearchTrial& t) {
        std::printf("%-6lld %-14s %8.1f %6lld %12.4f %12lld  %s%s\n", (long long)t.layer, t.part.c_str(), t.fraction,
                    (long long)t.rank, t.ppl, (long long)t.parameters, t.accepted ? "accepted" : "rejected",
                    t.resumed ? " (from the log)" : "");
        std::fflush(stdout);
    });
    progress.finish();
    int64_t factorized = 0, dense = 0;
    for (const auto& [part, ranks] : s.ranks)
        for (int64_t r : ranks)
            (r == kDenseRank ? dense : factorized) += 1;
    std::printf("search: base ppl %.4f, budget %.4f (delta %g), final ppl %.4f on %lld tokens; %lld projection(s) "
                "factorized, %lld dense; parameters %lld -> %lld; %lld trial(s) read back from the log\n",
                s.basePpl, s.basePpl * (1 + options.delta), options.delta, s.finalPpl, (long long)s.searchTokens,
                (long long)factorized, (long long)dense, (long long)s.parametersBefore, (long long)s.parametersAfter,
                (long long)s.resumedTrials);
    std::printf("wrote %s (ranks for compress --ranks) and %s (the trials)\n", s.out.string().c_str(),
                s.log.string().c_str());
    if (a.json) {
        nlohmann::json ranks = nlohmann::json::object();
        for (const auto& [part, list] : s.ranks) {
            nlohmann::json l = nlohmann::json::array();
            for (int64_t r : list)
                l.push_back(r == kDenseRank ? nlohmann::json(nullptr) : nlohmann::json(r));
            ranks[part] = l;
        }
        std::cout << nlohmann::json{{"base_ppl", s.basePpl},
                                    {"final_ppl", s.finalPpl},
                                    {"delta", options.delta},
                                    {"search_tokens", s.searchTokens},
                                    {"trials", s.trials.size()},
                                    {"resumed_trials", s.resumedTrials},
                                    {"parameters_before", s.parametersBefore},
                                    {"parameters_after", s.parametersAfter},
                                    {"ranks", ranks},
                                    {"out", s.out.string()},
                                    {"log", s.log.string()},
                                    {"seconds", s.seconds}}
                         .dump()
                  << std::endl;
    }
    return 0;
}

} // namespace basis::cli
