#include "rank_allocation.h"

#include "compress.h"
#include "decoder_model.h"
#include "error.h"
#include "method_registry.h"
#include "rank_budget.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <set>

namespace basis {

CompressionSettings resolveAllocatedRanks(const DecoderModel& model, const CalibrationStats* stats,
                                          const CompressionSettings& asked, const JobContext& job)
{
    if (asked.allocator == "uniform" || !asked.groupRanks.empty())
        return asked;
    c10::InferenceMode inference;
    const CompressionMethod& m = method(asked.method);
    // The uniform plan gives the groups (and validates the budget, the method and the allocator's name).
    const CompressionPlan plan = planCompression(model.config(), model.table(), asked);
    const bool whiten = m.needsStatistics();
    if (whiten && !stats)
        throw Error("--allocator " + asked.allocator + " reads the whitened spectra of " + asked.method +
                    ": calibrate first");
    std::set<std::string> compressedParts;
    for (const PartPlan& p : plan.parts)
        if (p.compressed)
            compressedParts.insert(p.spec->part);
    for (const auto& [part, w] : asked.partWeights) {
        if (!compressedParts.count(part))
            throw Error("part weight for '" + part + "': not a compressed part of this plan");
        if (!(w > 0))
            throw Error("part weight for '" + part + "' must be positive, got " + std::to_string(w));
    }
    std::vector<BudgetGroup> groups;
    std::vector<std::vector<double>> energies;
    std::vector<double> weights;
    int64_t done = 0, total = 0;
    for (const PartPlan& p : plan.parts)
        total += p.compressed ? static_cast<int64_t>(p.groups.size()) : 0;
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        const auto wIt = asked.partWeights.find(p.spec->part);
        for (const GroupPlan& g : p.groups) {
            job.checkCancelled();
            const int64_t n = static_cast<int64_t>(g.layers.size());
            BudgetGroup b;
            b.denseWeights = g.weightsBefore;
            b.base = m.factoredWeights(p.spec->in, p.spec->out, 0, n);
            b.step = m.factoredWeights(p.spec->in, p.spec->out, 1, n) - b.base;
            b.maxRank = std::min(p.spec->in, p.spec->out * n);
            const at::Tensor sv = groupSpectrum(model, whiten ? stats : nullptr, *p.spec, g.layers, whiten)
                                      .to(at::kDouble).contiguous();
            std::vector<double> e(static_cast<size_t>(b.maxRank), 0.0);
            for (int64_t i = 0; i < std::min<int64_t>(b.maxRank, sv.numel()); ++i)
                e[static_cast<size_t>(i)] = sv.data_ptr<double>()[i] * sv.data_ptr<double>()[i];
            groups.push_back(b);
            energies.push_back(std::move(e));
            weights.push_back(wIt != asked.partWeights.end() ? wIt->second : 1.0);
            job.report(++done, total, "spectrum " + p.spec->part + " layers " + std::to_string(g.layers.front()) + "..");
        }
    }
    allocateGreedyBudget(groups, energies, weights, asked.budget);
    CompressionSettings s = asked;
    for (const BudgetGroup& b : groups)
        s.groupRanks.push_back(b.k);
    return s;
}

} // namespace basis
