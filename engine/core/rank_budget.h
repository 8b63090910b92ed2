#pragma once
// Exact parameter budgets (issue 16): ranks for every group so that exactly P % of the target projections'
// weights go, instead of the published per-matrix floor of --ratio (which at "30 %" removes 31.6 % of
// stories260K's projections with g = 1 and 29.4 % with g = 2). Torch-free: the planner calls it.
#include <cstdint>
#include <string>
#include <vector>

namespace basis {

// One group of one projection as the budget sees it: its dense weights and the weights it holds at rank k,
// base + k x step (a basis n_in x k plus `layers` coefficient matrices k x n_out: step = n_in + layers x n_out).
struct BudgetGroup {
    int64_t denseWeights = 0;
    int64_t base = 0, step = 0;
    int64_t maxRank = 0;             // min(n_in, layers x n_out)
    double idealRank = 0;            // set by allocateUniformBudget: the rank that removes exactly the share
    int64_t k = 0;                   // the rank chosen
};

// Uniform: every group loses the same share of its weights, (percent / 100) x dense, as a real rank; ranks are
// rounded down, then groups in order of the largest fraction dropped get one step back while the budget allows.
// Each k is floor or ceil of its ideal rank (capped to 1..maxRank), and the weights kept stay at or under the
// budget's (1 - percent / 100) x dense by less than the largest step. Throws basis::Error for a percent outside
// (0, 100) or a group left without rank.
void allocateUniformBudget(std::vector<BudgetGroup>& groups, double percent);

// Uniform with a removal weight per group: group g removes the share c x removal[g] of its weights (clamped so it
// keeps between one rank and all of them), c found so that the total lands on the budget; then rounded as the
// uniform rule rounds. All weights 1 is allocateUniformBudget. What the loss allocator's candidates vary (a part
// that removes half or one and a half times its share, the others making up for it).
void allocateWeightedBudget(std::vector<BudgetGroup>& groups, const std::vector<double>& removal, double percent);

// Greedy (a global allocator): every group starts at rank 1; then, while a step fits under the budget, the group
// whose next direction buys the most weighted energy per parameter, weight x energies[k] / step, gets one more
// rank (a group whose step no longer fits drops out). energies[g] holds group g's energy per direction in
// decreasing order (squared whitened singular values), at least maxRank of them; weight[g] > 0 is its part's
// weight. Ties go to the earlier group. Same errors as allocateUniformBudget.
void allocateGreedyBudget(std::vector<BudgetGroup>& groups, const std::vector<std::vector<double>>& energies,
                          const std::vector<double>& weights, double percent);

// The allocators an exact budget may name (CompressionSettings::allocator), and them as a readable list
// ("uniform, greedy, greedy-relative or loss") for messages.
bool isRankAllocator(const std::string& name);
std::string rankAllocatorList();

// Weighted energy the chosen ranks keep: sum over groups of weight x (energies[0] + ... + energies[k - 1]).
double budgetEnergy(const std::vector<BudgetGroup>& groups, const std::vector<std::vector<double>>& energies,
                    const std::vector<double>& weights);

// Weights kept by the chosen ranks: sum of base + k x step.
int64_t budgetKeptWeights(const std::vector<BudgetGroup>& groups);
// The weights the budget keeps: floor((1 - percent / 100) x sum of dense weights).
int64_t budgetTargetWeights(const std::vector<BudgetGroup>& groups, double percent);

} // namespace basis
