#pragma once
// The dynamic-rank flags shared by eval ppl, eval throughput, generate and eval masks, and how their figures print.
#include "job_options.h"
#include "rank_strategy.h"

#include <nlohmann/json.hpp>

namespace CLI {
class App;
}

namespace basis::cli {

// --rank-strategy, --rank-budget RHO | --rank-energy TAU, --prompt-tokens P, bound to `r`.
void addRankOptions(CLI::App* cmd, RankJobOptions& r, bool withPrompt = true);

// The run's figures: settings, mean k share, energy kept, multiply-adds, and per layer and part.
nlohmann::json rankJson(const RankRunStatistics& s);
void printRank(const RankRunStatistics& s);

} // namespace basis::cli
