#pragma once
// What a compression setting does to every projection, decided from config.json alone: groups, rank k per
// group and exact parameter counts before and after. No SVD, no torch: this is what live counts call.
#include "architecture.h"
#include "quant_settings.h"
#include "feature_space_settings.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace basis {

struct CompressionSettings {
    // A registered method's name (engine/methods/method_registry.h): a name, not a pointer or an enum, so that the
    // settings stay plain data that configs, the CLI and the studio copy, and a new method needs no edit here.
    std::string method = "basis-sharing";
    double ratio = 20.0;                   // percent of the target projections' weights removed, in (0, 100)
    // Exact budget (rank_budget.h): > 0 replaces the ratio's per-matrix rule; exactly this percent of the target
    // projections' weights is removed, within one rank step per group, the same share from every group.
    double budget = 0.0;
    // With a budget, how ranks are shared out: "uniform" (the same share from every group, here in the planner) or
    // "greedy" (rank steps to the group whose whitened spectrum buys the most energy per parameter, weighted per
    // part; resolved on the statistics by engine/model/rank_allocation.h into groupRanks), "greedy-relative" (the
    // same with each group's energies as shares of its own total, so no projection's scale outbids another's) or
    // "loss" (the candidate
    // allocation, uniform or greedy with other part weights, of the lowest loss on a text; rank_allocation.h).
    // Before the ranks are resolved the plan counts the uniform allocation.
    std::string allocator = "uniform";
    std::map<std::string, double> partWeights;   // greedy: a part's energy weight (parts not listed: 1)
    // Explicit ranks, one per group of the compressed parts in plan order (ArchTable order, groups in layer order):
    // an allocator's output. Empty: the budget's or the ratio's rule.
    std::vector<int64_t> groupRanks;
    int64_t groupSize = 2;                 // layers per group for shared parts (methods that group layers)
    // Parts grouped across layers and parts compressed layer by layer. Both empty: the architecture's
    // defaults. Only one given: every other part goes to the other list. Parts in neither stay dense.
    std::vector<std::string> shared, privateParts;
    bool update = false;                   // refit coefficients on the compressed model's statistics
    QuantSettings quant;                   // bits, rank, q step, iterations of caldera / rtn / gptq
    FeatureSpaceSettings featureSpace;     // utilized, hybrid, weight-svd, sfsd: how ranks are picked
};

// k = floor((1 - r/100) * n_in * n_out * g / (n_in + g * n_out)): the basis (n_in x k) plus g coefficient
// matrices (k x n_out) hold (1 - r/100) of the g dense matrices. Evaluated as the published code does in doubles.
// A smaller last group keeps the full group's k (capped at min(n_in, layers x n_out)), as published.
int64_t rankFor(double ratio, int64_t nIn, int64_t nOut, int64_t groupLayers);

// k of one group of `layers` layers at group size `groupSize`: rankFor of a full group, capped by what the group's
// SVD can give (min(n_in, layers x n_out)), so a smaller last group keeps the full group's k as published.
int64_t groupRank(double ratio, int64_t nIn, int64_t nOut, int64_t groupSize, int64_t layers);

struct GroupPlan {
    std::vector<int64_t> layers;
    int64_t k = 0;
    int64_t weightsBefore = 0, weightsAfter = 0;   // basis counted once
    int64_t bytesBefore = 0, bytesAfter = 0;       // as stored (dense weights at the plan's element size)
    double bitsFormula = 0;                        // the method's bits per weight figure for this group
};

struct PartPlan {
    const ProjectionSpec* spec = nullptr;  // points into the ArchTable passed to planCompression
    bool shared = false;
    bool compressed = true;                // false: left dense
    std::vector<GroupPlan> groups;
    int64_t weightsBefore = 0, weightsAfter = 0;
    int64_t bytesBefore = 0, bytesAfter = 0;
};

struct CompressionPlan {
    CompressionSettings settings;          // as resolved (explicit part lists, group size 1 for per-layer methods)
    std::vector<PartPlan> parts;           // in ArchTable order
    int64_t targetBefore = 0, targetAfter = 0;   // weights of the compressed projections
    int64_t modelBefore = 0, modelAfter = 0;     // whole model, distinct parameters
    // Bytes as stored: dense tensors at `elementBytes` each (float32 4, bfloat16 / float16 2), a shared basis once,
    // packed integers with their scales and zeros (quantizing methods).
    int64_t elementBytes = 4;
    int64_t targetBytesBefore = 0, targetBytesAfter = 0;
    int64_t modelBytesBefore = 0, modelBytesAfter = 0;
    // Bits per weight of the compressed projections: exact (their stored bits / their dense weights, short last
    // groups and row padding included) and the method's formula averaged weighted by each projection's m d.
    double bitsPerWeight() const;
    double bitsPerWeightFormula = 0;
    double removedPercentOfTarget() const;
    double removedPercentOfModel() const;
    const PartPlan* part(const std::string& name) const;
    // The fused projections whose parts the setting names (architecture.h fusedPartsNamed): compressModel splits
    // the model's slots the same way. When they differ from the config's, the parts' specs point into splitTable,
    // which the plan keeps alive.
    std::vector<std::string> splitFused;
    std::shared_ptr<const ArchTable> splitTable;
};

// Throws basis::Error for an unknown method (the message lists the registered ones), a ratio outside (0, 100), a group
// size outside 1..layers, unknown part names (the message lists the known ones), a part both shared and private,
// or a ratio so high that k would be 0. Ranks and counts come from the method's planner hooks (method.h).
// elementBytes: bytes of one dense weight as stored (4 for float32, 2 for bfloat16 / float16).
// Parts of a fused projection (Phi-3's q, k, v inside qkv) may be named: the plan is then made on the split table.
CompressionPlan planCompression(const ModelConfig& config, const ArchTable& table, const CompressionSettings& settings,
                                int64_t elementBytes = 4);

// Whether two settings ask a rank allocator for the same ranks (method, budget, allocator, part weights, group size,
// parts), so that the ranks it resolved for one stand for the other.
bool sameAllocatorRequest(const CompressionSettings& a, const CompressionSettings& b);

// Consecutive groups [0, g), [g, 2g), ... with a smaller last group when g does not divide the layer count.
std::vector<std::vector<int64_t>> layerGroups(int64_t layers, int64_t groupSize);

} // namespace basis
