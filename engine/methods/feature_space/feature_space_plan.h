#pragma once
// The torch-free half of the feature-space methods: the break-even rule, the rank policies, the ranks file and
// the plan with exact counts. Ranks by energy come from the statistics (feature_space_factorize.h) and arrive
// here as FeatureSpaceSettings::ranks; fraction ranks and a ranks file need nothing but config.json.
#include "compression_plan.h"

#include <nlohmann/json.hpp>

namespace basis {

class CompressionMethod;

// kappa = floor(m d / (m + d)).
int64_t breakEvenRank(int64_t m, int64_t d);
// A rank-r factorization replaces W only when r (m + d) < m d.
bool factorizationPays(int64_t r, int64_t m, int64_t d);

// The policy's multiplier for a projection (throws naming the known policies for another name).
double policyMultiplier(const std::string& policy, const ProjectionSpec& spec);
// max(1, round(r x mult)), half away from zero.
int64_t policyRank(int64_t r, double mult);
std::vector<std::string> policyNames();

// e, with the method's default when unset (0.9995 for weight-svd, 0.99 otherwise).
double energyFor(const std::string& method, const FeatureSpaceSettings& s);
// max(1, floor(f kappa)).
int64_t fractionRank(double f, int64_t m, int64_t d);

// Throws basis::Error for an energy outside (0, 1], a fraction outside (0, 1) or for a method other than sfsd,
// more than one of energy / fraction / ranks file, or an unknown policy.
void validateFeatureSpace(const std::string& method, const FeatureSpaceSettings& s);
// Whether the ranks still have to be read off the statistics (by energy, not yet resolved).
bool ranksNeedStatistics(const FeatureSpaceSettings& s);
// An exact budget (settings.budget, percent of the target projections' weights removed) for a feature-space method:
// every target projection, one group each, loses the same share of its weights (rank_budget.h's uniform rule; sfsd's
// new bias b' counted), rounded so that the total lands on the budget within one rank step. Returned as explicit
// ranks. Throws basis::Error when an energy, fraction, ranks file, a policy other than uniform (it would move the
// ranks off the budget) or an allocator other than uniform is given with it.
CompressionSettings featureSpaceBudgetRanks(const ModelConfig& config, const ArchTable& table, const CompressionSettings& s);

// Whether `resolved` (a feature-space job's settings, ranks resolved) answers `asked`: the same method, parts,
// energy / fraction / ranks file and policy, the resolved ranks aside.
bool sameFeatureSpaceRequest(const CompressionSettings& resolved, const CompressionSettings& asked);

// The target parts (short names): the settings' shared and private lists together, or every part when both are empty.
std::vector<const ProjectionSpec*> featureSpaceTargets(const ArchTable& table, const CompressionSettings& s);

// Ranks file (docs/RANKS_FILE.md). Reading checks the architecture, the layer count and every part's shape
// against `config` (another model is refused) and each rank against 1..min(m, d).
RankTable readRanksFile(const std::filesystem::path& file, const ModelConfig& config, const ArchTable& table);
nlohmann::json ranksJson(const RankTable& ranks, const ModelConfig& config, const ArchTable& table,
                         const nlohmann::json& extra = {});

// One projection of one layer as the plan decided it.
struct ProjectionRank {
    const ProjectionSpec* spec = nullptr;
    int64_t layer = 0;
    int64_t m = 0, d = 0, kappa = 0;
    int64_t chosen = 0;         // the rank picked (energy, fraction or file) before the policy; kDenseRank: file says dense
    int64_t rank = 0;           // after the policy
    bool dense = false;         // the break-even rule (or the file) keeps W
    bool flipped = false;       // the policy made a projection dense that the chosen rank factorized
    double utilization = 0;     // chosen / min(m, d) (0 when the file keeps it dense)
};

struct FeatureSpaceReport {
    std::vector<ProjectionRank> projections;   // layer-major, the architecture's order inside a layer
    double mlu = 0;                            // mean utilization over the target projections
    int64_t flips = 0;
};

// Throws when ranksNeedStatistics(s.featureSpace) (the caller resolves them first).
FeatureSpaceReport featureSpaceReport(const ModelConfig& config, const ArchTable& table, const CompressionSettings& s);
// The plan: one group per factorized layer (k = its rank), dense layers in no group; counts include the new bias
// sfsd gives a projection that had none.
CompressionPlan planFeatureSpace(const ModelConfig& config, const ArchTable& table, const CompressionSettings& s);

} // namespace basis
