#include "rank_allocation.h"

#include "compress.h"
#include "decoder_model.h"
#include "error.h"
#include "method_registry.h"
#include "perplexity.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <set>

namespace basis {

namespace {

// The ranks the planner's uniform rule gives, in plan order.
std::vector<int64_t> planRanks(const CompressionPlan& plan)
{
    std::vector<int64_t> ranks;
    for (const PartPlan& p : plan.parts)
        if (p.compressed)
            for (const GroupPlan& g : p.groups)
                ranks.push_back(g.k);
    return ranks;
}


} // namespace

GreedyInputs collectGreedyInputs(const DecoderModel& model, const CalibrationStats* stats, const CompressionSettings& asked,
                                 const JobContext& job)
{
    c10::InferenceMode inference;
    const CompressionMethod& m = method(asked.method);
    CompressionSettings uniform = asked;
    uniform.allocator = "uniform";
    uniform.groupRanks.clear();
    // The uniform plan gives the groups (and validates the budget and the method).
    const CompressionPlan plan = planCompression(model.config(), model.table(), uniform);
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
    GreedyInputs in;
    int64_t done = 0, total = 0;
    for (const PartPlan& p : plan.parts)
        total += p.compressed ? static_cast<int64_t>(p.groups.size()) : 0;
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
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
            in.groups.push_back(b);
            in.parts.push_back(p.spec->part);
            in.energies.push_back(std::move(e));
            job.report(++done, total, "spectrum " + p.spec->part + " layers " + std::to_string(g.layers.front()) + "..");
        }
    }
    return in;
}

GreedyInputs relativeEnergies(GreedyInputs in)
{
    for (std::vector<double>& e : in.energies) {
        double total = 0;
        for (double v : e)
            total += v;
        if (total > 0)
            for (double& v : e)
                v /= total;
    }
    return in;
}

std::vector<int64_t> greedyRanks(GreedyInputs in, const std::map<std::string, double>& partWeights, double budget)
{
    std::vector<double> weights;
    for (const std::string& part : in.parts) {
        const auto it = partWeights.find(part);
        weights.push_back(it != partWeights.end() ? it->second : 1.0);
    }
    allocateGreedyBudget(in.groups, in.energies, weights, budget);
    std::vector<int64_t> ranks;
    for (const BudgetGroup& b : in.groups)
        ranks.push_back(b.k);
    return ranks;
}

CompressionSettings resolveAllocatedRanks(const DecoderModel& model, const CalibrationStats* stats,
                                          const CompressionSettings& asked, const JobContext& job)
{
    if (asked.allocator == "uniform" || !asked.groupRanks.empty())
        return asked;
    if (asked.allocator != "greedy" && asked.allocator != "greedy-relative")
        throw Error("the " + asked.allocator + " allocator measures a loss on a text: it runs as a job of the workspace");
    GreedyInputs inputs = collectGreedyInputs(model, stats, asked, job);
    if (asked.allocator == "greedy-relative")
        inputs = relativeEnergies(std::move(inputs));
    CompressionSettings s = asked;
    s.groupRanks = greedyRanks(std::move(inputs), asked.partWeights, asked.budget);
    return s;
}

LossAllocation allocateByLoss(const DecoderModel& dense, const RunOptions& copies, const CalibrationStats* stats,
                              const CompressionSettings& asked, const std::vector<int64_t>& ids, int64_t context,
                              int64_t windows, const JobContext& job)
{
    if (context < 2 || windows < 1)
        throw Error("the loss allocator needs a context of at least 2 tokens and at least one window");
    if (ids.size() < 2)
        throw Error("the loss allocator's text has " + std::to_string(ids.size()) + " token(s); at least 2 are needed");
    // The first `windows` windows as the perplexity evaluation cuts the text (all of it when it has fewer).
    const size_t used = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(ids.size()), windows * context + 1));
    const std::vector<int64_t> search(ids.begin(), ids.begin() + static_cast<long>(used));

    const GreedyInputs inputs = collectGreedyInputs(dense, stats, asked, job);
    CompressionSettings uniform = asked;
    uniform.allocator = "uniform";
    uniform.groupRanks.clear();
    const CompressionPlan uniformPlan = planCompression(dense.config(), dense.table(), uniform);

    LossAllocation out;
    out.candidates.push_back({"uniform", planRanks(uniformPlan), 0, 0});
    out.candidates.push_back({"greedy", greedyRanks(inputs, asked.partWeights, asked.budget), 0, 0});
    const GreedyInputs relative = relativeEnergies(inputs);
    out.candidates.push_back({"greedy-relative", greedyRanks(relative, asked.partWeights, asked.budget), 0, 0});
    std::vector<std::string> parts;
    for (const std::string& p : inputs.parts)
        if (std::find(parts.begin(), parts.end(), p) == parts.end())
            parts.push_back(p);
    // Uniform with one part removing half, or one and a half times, its share (the others make up for it).
    auto weighted = [&](const std::map<std::string, double>& removal) {
        std::vector<BudgetGroup> groups = inputs.groups;
        std::vector<double> w;
        for (const std::string& part : inputs.parts)
            w.push_back(removal.count(part) ? removal.at(part) : 1.0);
        allocateWeightedBudget(groups, w, asked.budget);
        std::vector<int64_t> ranks;
        for (const BudgetGroup& b : groups)
            ranks.push_back(b.k);
        return ranks;
    };
    const size_t firstWeighted = out.candidates.size();
    for (const std::string& p : parts)
        for (double factor : {0.5, 1.5})
            out.candidates.push_back({"uniform, " + p + " removes x" + (factor < 1 ? std::string("0.5") : std::string("1.5")),
                                      weighted({{p, factor}}), 0, 0});

    c10::InferenceMode inference;
    const bool needsStats = method(asked.method).needsStatistics();
    PplOptions p;
    p.context = context;
    p.protocol = PplProtocol::TokenMean;
    auto measure = [&](size_t i, int64_t total) {
        LossCandidate& c = out.candidates[i];
        CompressionSettings s = asked;
        s.allocator = "loss";
        s.groupRanks = c.ranks;
        const CompressionPlan plan = planCompression(dense.config(), dense.table(), s);
        c.keptWeights = plan.targetAfter;
        // The same allocation as an earlier candidate has its loss already.
        const auto same = std::find_if(out.candidates.begin(), out.candidates.begin() + static_cast<long>(i),
                                       [&](const LossCandidate& o) { return o.ranks == c.ranks; });
        if (same != out.candidates.begin() + static_cast<long>(i)) {
            c.loss = same->loss;
            return;
        }
        job.report(static_cast<int64_t>(i), total, "loss allocator: candidate " + c.label);
        auto copy = DecoderModel::load(dense.dir(), copies);
        compressModel(*copy, needsStats ? stats : nullptr, plan, {nullptr, job.cancel, {}});
        const PplResult r = evaluatePerplexity(*copy, search, p, {nullptr, job.cancel, {}});
        c.loss = r.nll;
        out.searchTokens = r.tokens;
        job.note("loss allocator: " + c.label + ": loss " + std::to_string(c.loss) + " (" + std::to_string(r.tokens) +
                 " tokens)");
    };
    const int64_t total = static_cast<int64_t>(out.candidates.size()) + 1;
    for (size_t i = 0; i < out.candidates.size(); ++i)
        measure(i, total);
    // Then every single-part change that beat uniform, together (each part at its better factor).
    std::map<std::string, double> combined;
    for (size_t i = firstWeighted; i < out.candidates.size(); ++i) {
        const std::string& part = parts[(i - firstWeighted) / 2];
        const double factor = (i - firstWeighted) % 2 == 0 ? 0.5 : 1.5;
        const bool better = out.candidates[i].loss < out.candidates[0].loss;
        const bool beatsOther = combined.count(part) == 0 ||
                                out.candidates[i].loss < out.candidates[i - 1].loss;   // the x0.5 one came first
        if (better && beatsOther)
            combined[part] = factor;
    }
    if (combined.size() > 1) {
        std::string label = "uniform, combined:";
        for (const auto& [part, f] : combined)
            label += " " + part + " x" + (f < 1 ? "0.5" : "1.5");
        out.candidates.push_back({label, weighted(combined), 0, 0});
        measure(out.candidates.size() - 1, total);
    }
    for (size_t i = 1; i < out.candidates.size(); ++i)
        if (out.candidates[i].loss < out.candidates[out.best].loss)
            out.best = i;
    out.settings = asked;
    out.settings.groupRanks = out.candidates[out.best].ranks;
    job.report(total, total, "loss allocator: " + out.candidates[out.best].label);
    return out;
}

} // namespace basis
