#include "rank_strategy.h"

#include "error.h"

#include <algorithm>
#include <cmath>

namespace basis {

const std::vector<std::string>& rankStrategyNames()
{
    static const std::vector<std::string> names{"baseline", "global-static", "prompt-adaptive", "per-token"};
    return names;
}

std::string rankStrategyName(RankStrategy s) { return rankStrategyNames().at(static_cast<size_t>(s)); }

RankStrategy parseRankStrategy(const std::string& name)
{
    const auto& names = rankStrategyNames();
    for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == name)
            return static_cast<RankStrategy>(i);
    throw Error("--rank-strategy: unknown strategy '" + name +
                "' (expected baseline, global-static, prompt-adaptive or per-token)");
}

void checkRankSettings(const RankSettings& s)
{
    const std::string name = rankStrategyName(s.strategy);
    if (!std::isfinite(s.budget) || s.budget < 0 || s.budget > 1)
        throw Error("--rank-budget: " + std::to_string(s.budget) + " is not a share of rank channels in (0, 1]");
    if (!std::isfinite(s.energy) || s.energy < 0 || s.energy > 1)
        throw Error("--rank-energy: " + std::to_string(s.energy) + " is not a share of energy in (0, 1]");
    if (s.promptTokens < 1)
        throw Error("--prompt-tokens: " + std::to_string(s.promptTokens) + " must be at least 1");
    if (s.budget > 0 && s.energy > 0)
        throw Error("--rank-budget and --rank-energy: give one of the two, not both");
    if (s.strategy == RankStrategy::Baseline) {
        if (s.budget > 0 || s.energy > 0)
            throw Error("--rank-strategy baseline computes every channel; it takes no --rank-budget or --rank-energy");
        return;
    }
    if (s.budget == 0 && s.energy == 0)
        throw Error("--rank-strategy " + name + " needs --rank-budget RHO or --rank-energy TAU");
    if (s.strategy == RankStrategy::GlobalStatic && s.energy > 0)
        throw Error("--rank-strategy global-static keeps a fixed prefix: give --rank-budget RHO, not --rank-energy");
}

int64_t rankBudget(double rho, int64_t K)
{
    return std::clamp<int64_t>(static_cast<int64_t>(std::llround(rho * static_cast<double>(K))), 1, K);
}

nlohmann::json rankStatisticsJson(const RankRunStatistics& s)
{
    nlohmann::json slots = nlohmann::json::array();
    for (const RankSlotStatistics& st : s.projections)
        slots.push_back({{"layer", st.layer}, {"part", st.part}, {"rank", st.rank}, {"tokens", st.tokens},
                         {"mean_k", st.meanK}, {"energy_kept", st.energyMeasured ? nlohmann::json(st.energyKept) : nlohmann::json()},
                         {"multiply_adds", st.multiplyAdds}, {"baseline_multiply_adds", st.baselineMultiplyAdds}});
    bool measured = !s.projections.empty();
    for (const RankSlotStatistics& st : s.projections)
        measured = measured && st.energyMeasured;
    return {{"strategy", rankStrategyName(s.settings.strategy)},
            {"budget", s.settings.budget > 0 ? nlohmann::json(s.settings.budget) : nlohmann::json()},
            {"energy", s.settings.energy > 0 ? nlohmann::json(s.settings.energy) : nlohmann::json()},
            {"prompt_tokens", s.settings.promptTokens},
            {"mean_rank_share", s.meanShare},
            {"energy_kept", measured ? nlohmann::json(s.energyKept) : nlohmann::json()},
            {"projection_multiply_adds_per_token", s.projectionMultiplyAdds},
            {"baseline_projection_multiply_adds_per_token", s.baselineProjectionMultiplyAdds},
            {"multiply_add_ratio", s.baselineProjectionMultiplyAdds / s.projectionMultiplyAdds},
            {"slots", slots}};
}

} // namespace basis
