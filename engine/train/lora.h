#pragma once
// LoRA adapters on chosen projections. A dense projection gets the usual y += s (x A) Bm with A [in, r] and
// Bm [r, out]. A factorized projection y = (x B) C_l gets its adapter on the coefficient side,
// y += s ((x B) A) Bm with A [k, r]: the merge C_l += s A Bm is then exact and keeps the factorized form and its
// parameter count (an adapter on the input side would need B, shared by the group, to grow by r columns per layer).
// s = alpha / r; Bm starts at zero, so an adapted model starts as the model.
#include "train_options.h"

#include <ATen/core/Tensor.h>

#include <memory>
#include <vector>

namespace basis {

class DecoderModel;

class LoraAdapters {
public:
    // Attaches an adapter to every projection of every layer whose part or module is in options.loraTargets.
    // Errors name the unknown target and list the parts. A initialised uniformly in +-1/sqrt(rows) from `seed`.
    LoraAdapters(DecoderModel& model, const TrainOptions& options);
    ~LoraAdapters();
    LoraAdapters(const LoraAdapters&) = delete;
    LoraAdapters& operator=(const LoraAdapters&) = delete;

    // A and Bm of every adapter, in a fixed order (checkpoints rely on it).
    std::vector<at::Tensor> parameters() const;
    // One adapter as y += scale (x down) up on the projection's dense input x: down [in, r] (for a factorized
    // projection the basis folded in, B A), up [r, out]. What a PEFT export of the dense model needs.
    struct Factors {
        int64_t layer = 0;
        size_t projection = 0;   // index into the model's table
        at::Tensor down, up;
        double scale = 1;
    };
    std::vector<Factors> factors() const;
    // Dropout applies while training only.
    void setTraining(bool on);
    // Adds every adapter's product into its projection (W, or C_l) and removes the adapters.
    void merge();
    // Removes the adapters without merging.
    void detach();
    size_t size() const { return m_adapters.size(); }

    struct Adapter;

private:
    DecoderModel& m_model;
    std::vector<std::shared_ptr<Adapter>> m_adapters;
    std::shared_ptr<bool> m_training;
};

} // namespace basis
