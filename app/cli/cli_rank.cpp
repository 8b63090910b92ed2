#include "cli_rank.h"

#include <CLI/CLI.hpp>

#include <cstdio>

namespace basis::cli {

void addRankOptions(CLI::App* cmd, RankJobOptions& r, bool withPrompt)
{
    cmd->add_option("--rank-strategy", r.strategy,
                    "Dynamic rank on a factorized model: baseline, global-static, prompt-adaptive or per-token");
    auto* budget = cmd->add_option("--rank-budget", r.budget, "rho: the share of rank channels computed, in (0, 1]");
    auto* energy = cmd->add_option("--rank-energy", r.energy, "tau: the share of energy kept (prompt-adaptive, per-token)");
    budget->excludes(energy);
    if (withPrompt)
        cmd->add_option("--prompt-tokens", r.promptTokens,
                        "Perplexity: the first P tokens of each window, at full rank and not scored")
            ->capture_default_str();
}

nlohmann::json rankJson(const RankRunStatistics& s) { return rankStatisticsJson(s); }

void printRank(const RankRunStatistics& s)
{
    bool measured = !s.projections.empty();
    for (const RankSlotStatistics& st : s.projections)
        measured = measured && st.energyMeasured;
    std::printf("rank strategy %s", rankStrategyName(s.settings.strategy).c_str());
    if (s.settings.budget > 0)
        std::printf(", rho %.3g", s.settings.budget);
    if (s.settings.energy > 0)
        std::printf(", tau %.3g", s.settings.energy);
    std::printf(": mean k share %.4f", s.meanShare);
    if (measured)
        std::printf(", energy kept %.4f", s.energyKept);
    std::printf(", projection multiply-adds per token %.4g (%.3fx fewer than all K)\n", s.projectionMultiplyAdds,
                s.baselineProjectionMultiplyAdds / s.projectionMultiplyAdds);
    std::printf("  %-5s %-8s %6s %9s %8s\n", "layer", "part", "K", "mean k", "energy");
    for (const RankSlotStatistics& st : s.projections) {
        if (st.energyMeasured)
            std::printf("  %-5lld %-8s %6lld %9.2f %8.4f\n", (long long)st.layer, st.part.c_str(), (long long)st.rank,
                        st.meanK, st.energyKept);
        else
            std::printf("  %-5lld %-8s %6lld %9.2f %8s\n", (long long)st.layer, st.part.c_str(), (long long)st.rank,
                        st.meanK, "-");
    }
}

} // namespace basis::cli
