#include "compression_plan.h"

#include "error.h"
#include "feature_space_plan.h"
#include "method_registry.h"
#include "param_count.h"
#include "rank_budget.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

namespace basis {

int64_t rankFor(double ratio, int64_t nIn, int64_t nOut, int64_t g)
{
    // Exactly the published expression int((nx * nf * g * (1 - ratio / 100)) // (nx + nf * g)) in doubles,
    // including Python's float floor division, so that ranks agree even where rounding decides
    // (5120 x 5120 at 55 % gives 1151, not 1152).
    const double a = static_cast<double>(nIn * nOut * g) * (1.0 - ratio / 100.0);
    const double b = static_cast<double>(nIn + nOut * g);
    const double mod = std::fmod(a, b);
    const double div = (a - mod) / b;
    double floorDiv = std::floor(div);
    if (div - floorDiv > 0.5)
        floorDiv += 1.0;
    return static_cast<int64_t>(floorDiv);
}

int64_t groupRank(double ratio, int64_t nIn, int64_t nOut, int64_t groupSize, int64_t layers)
{
    return std::min({rankFor(ratio, nIn, nOut, groupSize), nIn, layers * nOut});
}

std::vector<std::vector<int64_t>> layerGroups(int64_t layers, int64_t groupSize)
{
    std::vector<std::vector<int64_t>> groups;
    for (int64_t start = 0; start < layers; start += groupSize) {
        std::vector<int64_t> g;
        for (int64_t l = start; l < std::min(layers, start + groupSize); ++l)
            g.push_back(l);
        groups.push_back(std::move(g));
    }
    return groups;
}

double CompressionPlan::removedPercentOfTarget() const
{
    return targetBefore ? 100.0 * static_cast<double>(targetBefore - targetAfter) / static_cast<double>(targetBefore) : 0.0;
}

double CompressionPlan::removedPercentOfModel() const
{
    return modelBefore ? 100.0 * static_cast<double>(modelBefore - modelAfter) / static_cast<double>(modelBefore) : 0.0;
}

double CompressionPlan::bitsPerWeight() const
{
    return targetBefore ? 8.0 * static_cast<double>(targetBytesAfter) / static_cast<double>(targetBefore) : 0.0;
}

const PartPlan* CompressionPlan::part(const std::string& name) const
{
    for (const PartPlan& p : parts)
        if (p.spec->part == name || p.spec->module == name)
            return &p;
    return nullptr;
}

namespace {

std::string joined(const std::vector<std::string>& v)
{
    std::string s;
    for (const auto& x : v)
        s += (s.empty() ? "" : ", ") + x;
    return s;
}

// Canonical short names of the listed parts; unknown names are an error that lists the known ones.
std::set<std::string> resolveParts(const ArchTable& table, const std::vector<std::string>& names, const char* what)
{
    std::set<std::string> out;
    for (const auto& n : names) {
        const ProjectionSpec* p = table.findPart(n);
        if (!p)
            throw Error(std::string("unknown ") + what + " part '" + n + "' (parts of this architecture: " +
                        joined(table.partNames()) + ")");
        out.insert(p->part);
    }
    return out;
}

// Bytes of a plan whose factors and biases are stored like its dense weights (elementBytes each).
CompressionPlan withFactorBytes(CompressionPlan plan, int64_t elementBytes)
{
    plan.elementBytes = elementBytes;
    double formulaWeighted = 0;
    for (PartPlan& part : plan.parts) {
        part.bytesBefore = part.weightsBefore * elementBytes;
        part.bytesAfter = part.weightsAfter * elementBytes;
        for (GroupPlan& g : part.groups) {
            g.bytesBefore = g.weightsBefore * elementBytes;
            g.bytesAfter = g.weightsAfter * elementBytes;
            g.bitsFormula = g.weightsBefore ? 8.0 * static_cast<double>(g.bytesAfter) / static_cast<double>(g.weightsBefore) : 0.0;
        }
        if (part.compressed)   // layers a feature-space rule left dense count at their dense size
            formulaWeighted += 8.0 * static_cast<double>(part.bytesAfter);
    }
    plan.targetBytesBefore = plan.targetBefore * elementBytes;
    plan.targetBytesAfter = plan.targetAfter * elementBytes;
    plan.modelBytesBefore = plan.modelBefore * elementBytes;
    plan.modelBytesAfter = plan.modelAfter * elementBytes;
    plan.bitsPerWeightFormula = plan.targetBefore ? formulaWeighted / static_cast<double>(plan.targetBefore) : 0.0;
    return plan;
}

} // namespace

namespace {

CompressionPlan planOnTable(const ModelConfig& c, const ArchTable& table, const CompressionSettings& asked,
                            int64_t elementBytes)
{
    const CompressionMethod& method = basis::method(asked.method);
    CompressionSettings s = asked;
    method.resolveSettings(s);
    if (s.budget != 0.0 && method.featureSpace())   // the budget's ranks, as explicit ranks per projection
        s = featureSpaceBudgetRanks(c, table, s);
    if (method.featureSpace())   // a rank per projection, no ratio; factors stored at the dense element size
        return withFactorBytes(planFeatureSpace(c, table, s), elementBytes);
    if (!(s.ratio > 0.0 && s.ratio < 100.0))
        throw Error("compression ratio must be in (0, 100) percent of parameters removed, got " + std::to_string(s.ratio));
    if (s.groupSize < 1 || s.groupSize > c.layers)
        throw Error("group size must be between 1 and the model's " + std::to_string(c.layers) + " layers, got " +
                    std::to_string(s.groupSize));

    std::set<std::string> shared = resolveParts(table, s.shared, "shared");
    std::set<std::string> priv = resolveParts(table, s.privateParts, "private");
    for (const auto& p : shared)
        if (priv.count(p))
            throw Error("part '" + p + "' is listed as both shared and private");
    const std::vector<std::string> all = table.partNames();
    if (shared.empty() && priv.empty())
        shared = resolveParts(table, defaultSharedParts(c), "shared");
    if (s.shared.empty() && !priv.empty()) {
        for (const auto& p : all)
            if (!priv.count(p))
                shared.insert(p);
    } else if (s.privateParts.empty()) {
        for (const auto& p : all)
            if (!shared.count(p))
                priv.insert(p);
    }
    // Methods without groups (the SVD baselines) compress every part per layer.
    const bool grouped = method.groupsLayers();
    if (!grouped) {
        priv.insert(shared.begin(), shared.end());
        shared.clear();
    }

    CompressionPlan plan;
    plan.settings = s;
    plan.settings.shared.clear();
    plan.settings.privateParts.clear();
    if (!grouped)
        plan.settings.groupSize = 1;
    // An exact budget fixes every group's rank before the counts below (the same groups, in the same order).
    std::vector<BudgetGroup> budgetGroups;
    if (!isRankAllocator(s.allocator))
        throw Error("unknown rank allocator '" + s.allocator + "' (expected " + rankAllocatorList() + ")");
    if (s.allocator != "uniform" && s.budget == 0.0)
        throw Error("--allocator " + s.allocator + " shares out an exact budget: give --budget P as well");
    if (s.budget != 0.0) {
        if (method.allowsRankZero() || !method.uses(setting::Ratio))
            throw Error("--budget removes a share of the low-rank factors' parameters; method '" + s.method +
                        "' quantizes (its size is set by --bits and --rank): give those instead");
        for (const ProjectionSpec& spec : table.projections) {
            const bool sh = shared.count(spec.part) > 0;
            if (!sh && !priv.count(spec.part))
                continue;
            for (auto& layers : layerGroups(c.layers, sh ? plan.settings.groupSize : 1)) {
                const int64_t n = static_cast<int64_t>(layers.size());
                BudgetGroup b;
                b.denseWeights = spec.in * spec.out * n;
                b.base = method.factoredWeights(spec.in, spec.out, 0, n);
                b.step = method.factoredWeights(spec.in, spec.out, 1, n) - b.base;
                b.maxRank = std::min(spec.in, spec.out * n);
                budgetGroups.push_back(b);
            }
        }
        allocateUniformBudget(budgetGroups, s.budget);
        if (!s.groupRanks.empty()) {
            if (s.groupRanks.size() != budgetGroups.size())
                throw Error("explicit ranks: " + std::to_string(s.groupRanks.size()) + " given for " +
                            std::to_string(budgetGroups.size()) + " groups");
            for (size_t i = 0; i < budgetGroups.size(); ++i)
                budgetGroups[i].k = s.groupRanks[i];
        }
    } else if (!s.groupRanks.empty()) {
        throw Error("explicit group ranks come from an allocator under a budget: give --budget P");
    }
    size_t budgetIndex = 0;
    const DenseCounts dense = denseParameterCounts(c, table);
    plan.modelBefore = dense.total;
    plan.elementBytes = elementBytes;
    int64_t saved = 0, bytesSaved = 0;
    double formulaWeighted = 0;
    for (const ProjectionSpec& spec : table.projections) {
        PartPlan part;
        part.spec = &spec;
        part.shared = shared.count(spec.part) > 0;
        part.compressed = part.shared || priv.count(spec.part) > 0;
        if (part.shared)
            plan.settings.shared.push_back(spec.part);
        else if (part.compressed)
            plan.settings.privateParts.push_back(spec.part);
        const int64_t dense1 = spec.in * spec.out;
        if (!part.compressed) {
            part.weightsBefore = part.weightsAfter = dense1 * c.layers;
            part.bytesBefore = part.bytesAfter = dense1 * c.layers * elementBytes;
            plan.parts.push_back(std::move(part));
            continue;
        }
        for (auto& layers : layerGroups(c.layers, part.shared ? plan.settings.groupSize : 1)) {
            GroupPlan g;
            const int64_t n = static_cast<int64_t>(layers.size());
            g.layers = std::move(layers);
            g.k = budgetGroups.empty() ? method.rankOf(s, spec.in, spec.out, part.shared ? plan.settings.groupSize : 1, n)
                                       : budgetGroups.at(budgetIndex++).k;
            if (g.k < 0 || g.k > std::min(spec.in, spec.out * n))
                throw Error("rank " + std::to_string(g.k) + " is above min(m, d) = " +
                            std::to_string(std::min(spec.in, spec.out * n)) + " of part '" + spec.part + "' (" +
                            std::to_string(spec.out) + " x " + std::to_string(spec.in) + ")");
            if (g.k < 1 && !method.allowsRankZero())
                throw Error((s.budget != 0.0 ? "budget " + std::to_string(s.budget) : "ratio " + std::to_string(s.ratio)) + "% leaves no rank for part '" + spec.part + "' (" +
                            std::to_string(spec.in) + " x " + std::to_string(spec.out) + ", " + std::to_string(n) +
                            " layer(s) per group)");
            g.weightsBefore = dense1 * n;
            g.weightsAfter = method.factoredWeights(spec.in, spec.out, g.k, n);
            g.bytesBefore = g.weightsBefore * elementBytes;
            g.bytesAfter = method.storedBytes(s, spec.in, spec.out, g.k, n, elementBytes);
            g.bitsFormula = method.bitsPerWeightFormula(s, spec.in, spec.out, g.k, n, elementBytes);
            formulaWeighted += g.bitsFormula * static_cast<double>(g.weightsBefore);
            part.weightsBefore += g.weightsBefore;
            part.weightsAfter += g.weightsAfter;
            part.bytesBefore += g.bytesBefore;
            part.bytesAfter += g.bytesAfter;
            part.groups.push_back(std::move(g));
        }
        plan.targetBefore += part.weightsBefore;
        plan.targetAfter += part.weightsAfter;
        plan.targetBytesBefore += part.bytesBefore;
        plan.targetBytesAfter += part.bytesAfter;
        saved += part.weightsBefore - part.weightsAfter;
        bytesSaved += part.bytesBefore - part.bytesAfter;
        plan.parts.push_back(std::move(part));
    }
    plan.modelAfter = plan.modelBefore - saved;
    plan.modelBytesBefore = plan.modelBefore * elementBytes;
    plan.modelBytesAfter = plan.modelBytesBefore - bytesSaved;
    plan.bitsPerWeightFormula = plan.targetBefore ? formulaWeighted / static_cast<double>(plan.targetBefore) : 0.0;
    return plan;
}

} // namespace

bool sameAllocatorRequest(const CompressionSettings& a, const CompressionSettings& b)
{
    return a.method == b.method && a.budget == b.budget && a.allocator == b.allocator && a.partWeights == b.partWeights &&
           a.groupRanks == b.groupRanks && a.groupSize == b.groupSize && a.shared == b.shared &&
           a.privateParts == b.privateParts;
}

CompressionPlan planCompression(const ModelConfig& c, const ArchTable& table, const CompressionSettings& asked,
                                int64_t elementBytes)
{
    std::vector<std::string> named = asked.shared;
    named.insert(named.end(), asked.privateParts.begin(), asked.privateParts.end());
    const std::vector<std::string> split = fusedPartsNamed(c, named);
    if (split == c.splitFused) {
        CompressionPlan plan = planOnTable(c, table, asked, elementBytes);
        plan.splitFused = split;
        return plan;
    }
    if (!split.empty() && method(asked.method).featureSpace())
        throw Error("the feature-space methods take " + c.arch + "'s fused projections (" + joined(split) +
                    ") whole: name those, not their parts");
    ModelConfig splitConfig = c;
    splitConfig.splitFused = split;
    auto own = std::make_shared<const ArchTable>(archTable(splitConfig));
    CompressionPlan plan = planOnTable(splitConfig, *own, asked, elementBytes);
    plan.splitFused = split;
    plan.splitTable = own;
    return plan;
}

} // namespace basis
