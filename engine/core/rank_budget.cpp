#include "rank_budget.h"

#include "error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

namespace basis {

bool isRankAllocator(const std::string& name)
{
    return name == "uniform" || name == "greedy" || name == "greedy-relative" || name == "loss";
}

std::string rankAllocatorList() { return "uniform, greedy, greedy-relative or loss"; }

int64_t budgetKeptWeights(const std::vector<BudgetGroup>& groups)
{
    int64_t kept = 0;
    for (const BudgetGroup& g : groups)
        kept += g.base + g.k * g.step;
    return kept;
}

int64_t budgetTargetWeights(const std::vector<BudgetGroup>& groups, double percent)
{
    int64_t dense = 0;
    for (const BudgetGroup& g : groups)
        dense += g.denseWeights;
    return static_cast<int64_t>(std::floor((1.0 - percent / 100.0) * static_cast<double>(dense)));
}

double budgetEnergy(const std::vector<BudgetGroup>& groups, const std::vector<std::vector<double>>& energies,
                    const std::vector<double>& weights)
{
    double total = 0;
    for (size_t g = 0; g < groups.size(); ++g)
        for (int64_t i = 0; i < groups[g].k; ++i)
            total += weights.at(g) * energies.at(g).at(static_cast<size_t>(i));
    return total;
}

void allocateGreedyBudget(std::vector<BudgetGroup>& groups, const std::vector<std::vector<double>>& energies,
                          const std::vector<double>& weights, double percent)
{
    if (!(percent > 0.0 && percent < 100.0))
        throw Error("budget must be in (0, 100) percent of the target projections' parameters removed, got " +
                    std::to_string(percent));
    if (energies.size() != groups.size() || weights.size() != groups.size())
        throw Error("internal: the greedy allocator needs one spectrum and one weight per group");
    for (size_t g = 0; g < groups.size(); ++g) {
        if (groups[g].step <= 0 || groups[g].maxRank < 1)
            throw Error("internal: a budget group without rank steps");
        if (static_cast<int64_t>(energies[g].size()) < groups[g].maxRank)
            throw Error("internal: a stored spectrum shorter than its group's largest rank");
        if (!(weights[g] > 0))
            throw Error("the greedy allocator's part weights must be positive, got " + std::to_string(weights[g]));
        groups[g].k = 1;
        groups[g].idealRank = 0;
    }
    int64_t left = budgetTargetWeights(groups, percent) - budgetKeptWeights(groups);
    if (left < 0)
        throw Error("budget " + std::to_string(percent) + "% is below one rank for every projection");
    std::vector<bool> open(groups.size(), true);
    for (;;) {
        size_t best = groups.size();
        double bestGain = -1;
        for (size_t g = 0; g < groups.size(); ++g) {
            if (!open[g])
                continue;
            const BudgetGroup& b = groups[g];
            if (b.k >= b.maxRank || b.step > left) {
                open[g] = false;
                continue;
            }
            const double gain = weights[g] * energies[g][static_cast<size_t>(b.k)] / static_cast<double>(b.step);
            if (gain > bestGain) {
                bestGain = gain;
                best = g;
            }
        }
        if (best == groups.size())
            break;
        ++groups[best].k;
        left -= groups[best].step;
    }
}

namespace {

// Floors every ideal rank, then gives the fractions back a step at a time (largest first) within the budget.
void roundToBudget(std::vector<BudgetGroup>& groups, double percent);

} // namespace

void allocateWeightedBudget(std::vector<BudgetGroup>& groups, const std::vector<double>& removal, double percent)
{
    if (!(percent > 0.0 && percent < 100.0))
        throw Error("budget must be in (0, 100) percent of the target projections' parameters removed, got " +
                    std::to_string(percent));
    if (removal.size() != groups.size())
        throw Error("internal: the weighted budget needs one removal weight per group");
    double dense = 0;
    for (size_t i = 0; i < groups.size(); ++i) {
        if (groups[i].step <= 0 || groups[i].maxRank < 1)
            throw Error("internal: a budget group without rank steps");
        if (!(removal[i] > 0))
            throw Error("internal: removal weights must be positive");
        dense += static_cast<double>(groups[i].denseWeights);
    }
    // The ideal weights a group keeps at scale c: its dense weights less c x removal of them, between one rank
    // and its full rank.
    auto kept = [&](size_t i, double c) {
        const BudgetGroup& g = groups[i];
        const double lo = static_cast<double>(g.base + g.step), hi = static_cast<double>(g.base + g.maxRank * g.step);
        return std::clamp((1.0 - c * removal[i]) * static_cast<double>(g.denseWeights), lo, hi);
    };
    const double target = (1.0 - percent / 100.0) * dense;
    double lo = 0, hi = 1;
    while (hi < 1e6) {   // kept(c) falls as c grows: find a c that removes at least the budget
        double total = 0;
        for (size_t i = 0; i < groups.size(); ++i)
            total += kept(i, hi);
        if (total <= target)
            break;
        lo = hi;
        hi *= 2;
    }
    for (int iter = 0; iter < 100; ++iter) {
        const double mid = 0.5 * (lo + hi);
        double total = 0;
        for (size_t i = 0; i < groups.size(); ++i)
            total += kept(i, mid);
        (total > target ? lo : hi) = mid;
    }
    for (size_t i = 0; i < groups.size(); ++i) {
        BudgetGroup& g = groups[i];
        g.idealRank = (kept(i, hi) - static_cast<double>(g.base)) / static_cast<double>(g.step);
        g.k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(g.idealRank)), 0, g.maxRank);
    }
    roundToBudget(groups, percent);
}

void allocateUniformBudget(std::vector<BudgetGroup>& groups, double percent)
{
    if (!(percent > 0.0 && percent < 100.0))
        throw Error("budget must be in (0, 100) percent of the target projections' parameters removed, got " +
                    std::to_string(percent));
    const double keep = 1.0 - percent / 100.0;
    for (BudgetGroup& g : groups) {
        if (g.step <= 0 || g.maxRank < 1)
            throw Error("internal: a budget group without rank steps");
        g.idealRank = (keep * static_cast<double>(g.denseWeights) - static_cast<double>(g.base)) / static_cast<double>(g.step);
        g.k = std::clamp<int64_t>(static_cast<int64_t>(std::floor(g.idealRank)), 0, g.maxRank);
    }
    roundToBudget(groups, percent);
}

namespace {

void roundToBudget(std::vector<BudgetGroup>& groups, double percent)
{
    int64_t left = budgetTargetWeights(groups, percent) - budgetKeptWeights(groups);
    // The fractions dropped by the floor are given back, largest first (ties: the earlier group), a whole step
    // each, while the steps still fit under the budget.
    std::vector<size_t> order(groups.size());
    std::iota(order.begin(), order.end(), size_t(0));
    auto fraction = [&](size_t i) { return groups[i].idealRank - std::floor(groups[i].idealRank); };
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return fraction(a) > fraction(b); });
    for (size_t i : order) {
        BudgetGroup& g = groups[i];
        if (g.k < g.maxRank && static_cast<double>(g.k) < g.idealRank && g.step <= left) {
            ++g.k;
            left -= g.step;
        }
    }
    for (const BudgetGroup& g : groups)
        if (g.k < 1)
            throw Error("budget " + std::to_string(percent) + "% leaves a projection without rank (a " +
                        std::to_string(g.denseWeights) + "-weight group would keep less than one rank step of " +
                        std::to_string(g.step) + " weights)");
}

} // namespace

} // namespace basis
