#pragma once
// Dynamic rank at run time on a factorized model y = (x B) C_l + b: each projection computes a subset of its K
// rank channels (z = x B, channel j = column j of B and row j of C_l), chosen by a strategy (rank_strategy.h):
//   baseline        all K channels;
//   global-static   the first k_bar = max(1, round(rho K)) channels for every input (the channel order of
//                   channel_order.h makes that prefix the most important set): (x B[:, :k]) C[:k, :];
//   prompt-adaptive during the prompt (full rank) E_j = sum over its tokens of e_tj = z_tj^2 ||C_l[j, :]||^2; at
//                   its end S = the k_bar channels of largest E (or, with tau, the smallest set whose E sum is
//                   >= tau of the total), gathered once (a slice when S is a prefix) for every later token;
//   per-token       for each token the smallest set whose e_tj sum is >= tau of its total (or its k_bar largest):
//                   z computed in full, only the C matmul shrinks.
// The hooks are installed on the model's factorized slots (LinearSlot::setFactorHook) for the object's life.
// Not thread-safe; one forward at a time.
#include "rank_strategy.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace basis {

class DecoderModel;
class LinearSlot;

// One projection's captured masks: per token of the captured forwards, the channels kept and their energies.
struct RankMask {
    int64_t layer = 0;
    std::string part;
    int64_t rank = 0;
    at::Tensor keep;     // bool [tokens, K]
    at::Tensor energy;   // float32 [tokens, K], e_tj
};

class DynamicRank {
public:
    // Throws when the settings are invalid (checkRankSettings) or the model has no factorized projection.
    DynamicRank(DecoderModel& model, const RankSettings& settings);
    ~DynamicRank();
    DynamicRank(const DynamicRank&) = delete;
    DynamicRank& operator=(const DynamicRank&) = delete;

    // From here to endPrompt() every projection runs at full rank (prompt-adaptive sums E_j); nothing is counted.
    void beginPrompt();
    // Chooses S (prompt-adaptive) from the prompt's E and applies the strategy to the tokens that follow.
    void endPrompt();
    // Measuring computes z in full for every strategy to count the energy kept (same result up to rounding);
    // off, global-static and prompt-adaptive compute only their columns (the decode path of a benchmark).
    void setMeasuring(bool on) { m_measuring = on; }
    // Keeps every token's mask and energies from now on (masks()).
    void setCapture(bool on) { m_capture = on; }
    void resetStatistics();

    RankRunStatistics statistics() const;
    std::vector<RankMask> masks() const;
    // prompt-adaptive: the kept channels of a projection after endPrompt(), ascending (int64, CPU).
    at::Tensor keptSet(int64_t layer, size_t projection) const;
    const RankSettings& settings() const { return m_settings; }

    struct Slot;

private:
    at::Tensor forward(Slot& s, const at::Tensor& rows);

    DecoderModel& m_model;
    RankSettings m_settings;
    std::vector<std::unique_ptr<Slot>> m_slots;
    bool m_prompt = false, m_measuring = false, m_capture = false;
};

// True when some projection of the model is factorized (a basis and coefficients).
bool hasFactorizedProjection(const DecoderModel& model);

} // namespace basis
