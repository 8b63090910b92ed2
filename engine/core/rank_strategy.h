#pragma once
// Run-time rank selection on a factorized model y = (x B) C_l (engine/model/dynamic_rank.h): which of the K rank
// channels each projection computes. Torch-free: the settings travel through job options, YAML and the studio.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace basis {

enum class RankStrategy { Baseline, GlobalStatic, PromptAdaptive, PerToken };

std::string rankStrategyName(RankStrategy s);   // "baseline", "global-static", "prompt-adaptive", "per-token"
RankStrategy parseRankStrategy(const std::string& name);   // throws naming the value and the choices
const std::vector<std::string>& rankStrategyNames();

struct RankSettings {
    RankStrategy strategy = RankStrategy::Baseline;
    // Exactly one of the two for every strategy but baseline: rho, the share of rank channels (k_bar =
    // max(1, round(rho K))), or tau, the share of energy kept (prompt-adaptive and per-token only). 0 = unset.
    double budget = 0;
    double energy = 0;
    int64_t promptTokens = 64;   // perplexity: the first P tokens of each window, at full rank and not scored

    bool active() const { return strategy != RankStrategy::Baseline; }
};

// Throws basis::Error naming the option (`--rank-budget` ... as the CLI spells them) and what is wrong.
void checkRankSettings(const RankSettings& s);

// k_bar = max(1, round(rho K)), at most K.
int64_t rankBudget(double rho, int64_t K);

} // namespace basis

namespace basis {

// What one run under a strategy spent, per factorized projection (layer, part), over the tokens it counted
// (perplexity: the scored ones; the prompt runs at full rank and is not counted).
struct RankSlotStatistics {
    int64_t layer = 0;
    std::string part;
    int64_t rank = 0;                // K, the stored rank
    int64_t tokens = 0;
    double meanK = 0;                // mean over tokens of the channels computed
    double energyKept = 1;           // sum of kept e_tj over the sum of all e_tj (1 when nothing was measured)
    bool energyMeasured = false;
    double multiplyAdds = 0;         // per token, this projection, as the strategy computes it
    double baselineMultiplyAdds = 0; // per token with all K channels: in*K + K*out
};

struct RankRunStatistics {
    RankSettings settings;
    std::vector<RankSlotStatistics> projections;   // "slots" is a Qt keyword macro where ui/ includes this
    double meanShare = 1;            // mean over projections of meanK / K
    double energyKept = 1;           // mean over projections of their energy kept
    double projectionMultiplyAdds = 0;          // per token, every projection (dense ones in*out)
    double baselineProjectionMultiplyAdds = 0;  // the same with all K channels of the factorized ones
    bool channelsOrdered = false;    // the model's section records the channel order (channel_order.h)
};

} // namespace basis

namespace basis {

// The figures as one JSON object (CLI --json, the pipeline's results file): settings, mean rank share, energy kept
// (null when not measured), multiply-adds per token and their ratio, and per layer and part.
nlohmann::json rankStatisticsJson(const RankRunStatistics& s);

} // namespace basis
