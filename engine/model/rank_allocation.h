#pragma once
// Global rank allocators under an exact budget that read the model (issue 16). The uniform allocator needs
// nothing but the config and lives in the planner (rank_budget.h); the greedy one reads each group's spectrum,
// of S W_G (whitened, the methods that calibrate) or of W_G (plain svd), and fixes CompressionSettings::groupRanks;
// the loss-aware one compresses a few candidate allocations and keeps the one with the lowest loss on a text.
#include "calibration.h"
#include "compression_plan.h"
#include "progress.h"
#include "rank_budget.h"
#include "run_options.h"

#include <map>
#include <string>
#include <vector>

namespace basis {

class DecoderModel;

// What the greedy allocator reads, computed once: every group of the uniform plan (in plan order) with its part
// and its energy per direction.
struct GreedyInputs {
    std::vector<BudgetGroup> groups;
    std::vector<std::string> parts;              // each group's part
    std::vector<std::vector<double>> energies;   // squared (whitened) singular values, maxRank of them
};
GreedyInputs collectGreedyInputs(const DecoderModel& model, const CalibrationStats* stats, const CompressionSettings& s,
                                 const JobContext& job = {});
// The same energies as shares of each group's total (sum over all its directions): what greedy-relative reads.
GreedyInputs relativeEnergies(GreedyInputs inputs);
// The greedy ranks for these part weights (parts not listed: 1).
std::vector<int64_t> greedyRanks(GreedyInputs inputs, const std::map<std::string, double>& partWeights, double budget);

// `s` with groupRanks filled when its allocator is greedy or greedy-relative (unchanged for uniform or when ranks
// are already given).
// Throws basis::Error when the statistics a whitened method needs are missing or a part weight names no
// compressed part. (The loss allocator needs a text: allocateByLoss.)
CompressionSettings resolveAllocatedRanks(const DecoderModel& model, const CalibrationStats* stats,
                                          const CompressionSettings& s, const JobContext& job = {});

// The loss-aware allocator. Candidates, in this order: the uniform allocation; the greedy and the greedy-relative
// ones with the settings' part weights; for every compressed part p, the uniform rule with p removing 0.5 and 1.5
// times its share (allocateWeightedBudget: the other parts make up for it); then, when more than one of those beat
// uniform, all of them together (each part at its better factor). Each distinct allocation is compressed on a
// fresh copy of the dense model and its loss (mean NLL per token) measured on the first `windows` disjoint windows
// of `context` tokens of `ids` (as the perplexity evaluation cuts them; the whole text when it has fewer, its last
// window then shorter); the lowest loss wins (ties: the earlier candidate). All candidates hold the same budget
// (each within one rank step per group).
struct LossCandidate {
    std::string label;                           // "uniform", "greedy", "uniform, down removes x0.5", ...
    std::vector<int64_t> ranks;
    int64_t keptWeights = 0;                     // target projections' weights kept
    double loss = 0;                             // mean NLL per token on the search windows
};
struct LossAllocation {
    CompressionSettings settings;                // groupRanks of the best candidate
    std::vector<LossCandidate> candidates;
    size_t best = 0;
    int64_t searchTokens = 0;                    // scored tokens per candidate
};
LossAllocation allocateByLoss(const DecoderModel& dense, const RunOptions& copies, const CalibrationStats* stats,
                              const CompressionSettings& s, const std::vector<int64_t>& ids, int64_t context,
                              int64_t windows, const JobContext& job = {});

} // namespace basis
