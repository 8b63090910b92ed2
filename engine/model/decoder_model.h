#pragma once
// The one generic decoder: GPT-2, LLaMA, OPT and Mistral are this class plus their ArchTable. Blocks
// (norms, attention with RoPE or learned positions, gated or plain MLP) are shared; projections are slots.
#include "architecture.h"
#include "kv_cache.h"
#include "linear_slot.h"
#include "model_config.h"
#include "run_options.h"

#include <ATen/core/Tensor.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace basis {

class Checkpoint;

// Called with the input of every projection site of every layer during forward passes.
using InputObserver = std::function<void(int64_t layer, InputSite site, const at::Tensor& x)>;

struct LayerWeights {
    at::Tensor attnNormW, attnNormB, mlpNormW, mlpNormB;
    std::vector<LinearSlot> slots;   // same order as ArchTable::projections
};

class DecoderModel {
public:
    // Loads config.json and the safetensors weights of a Hugging Face folder. Errors name the file and tensor.
    static std::unique_ptr<DecoderModel> load(const std::filesystem::path& dir, const RunOptions& options = {});
    // Every tensor the model needs is present with its shape and a floating dtype, and a compressed folder's
    // section agrees with its tensors: the checks of load() from the headers alone (no weights read).
    static void checkHeaders(const std::filesystem::path& dir);

    const ModelConfig& config() const { return m_config; }
    const ArchTable& table() const { return m_table; }
    const std::filesystem::path& dir() const { return m_dir; }
    // The compute device: activations, embeddings, head and final norm live there.
    c10::Device device() const { return m_device; }
    c10::ScalarType dtype() const { return m_dtype; }
    // Layer weights on the host (RunOptions::weights == "host"): the layers stay on the CPU as loaded (memory-
    // mapped as stored, for a model bigger than the GPU's memory) and each layer's forward runs on pagedLayer(l).
    bool hostWeights() const { return m_hostWeights; }
    // Where the layers' tensors are (the CPU with host weights, else device()): compression installs its factors there.
    c10::Device weightDevice() const { return m_hostWeights ? c10::Device(c10::kCPU) : m_device; }
    // The layer as its forward reads it. With host weights: copies on device() in dtype() of every tensor the
    // forward reads, made once for consecutive calls on the same layer (a layer at a time over many batches pays
    // one copy) and shared with the next layer where it reads the same tensor (a group's basis is copied once
    // for its layers); the copies of the previous layer are dropped first, so the device holds one layer. On the
    // CPU the copies are made too, which is what lets the tests check the path. Else: the layer itself.
    LayerWeights pagedLayer(int64_t l) const;

    // ids [batch, tokens] (int64). With a cache, the tokens continue the cached positions and the cache grows.
    // Returns float32 logits [batch, tokens, vocab], or [batch, 1, vocab] for the last position only.
    at::Tensor forward(const at::Tensor& ids, KVCache* cache = nullptr, bool lastOnly = false) const;
    // The final hidden states (after the final norm and OPT's project_out), in the model dtype.
    at::Tensor hiddenStates(const at::Tensor& ids, KVCache* cache = nullptr) const;
    // float32 logits of hidden states.
    at::Tensor logits(const at::Tensor& hidden) const;

    // hiddenStates in three steps, for work that goes a layer at a time over many samples (streamed
    // calibration): the embedded tokens (positions from `start`), one layer's output without a cache, and the
    // final norm (and OPT's project_out). layerOutput over every layer in order then finalHidden is hiddenStates.
    at::Tensor embedTokens(const at::Tensor& ids, int64_t start = 0) const;
    at::Tensor layerOutput(int64_t layer, const at::Tensor& x) const;
    at::Tensor finalHidden(const at::Tensor& x) const;

    int64_t layerCount() const { return static_cast<int64_t>(m_layers.size()); }
    LayerWeights& layer(int64_t i) { return m_layers.at(i); }
    const LayerWeights& layer(int64_t i) const { return m_layers.at(i); }
    LinearSlot& slot(int64_t layer, size_t projection) { return m_layers.at(layer).slots.at(projection); }

    void setInputObserver(InputObserver observer) { m_observer = std::move(observer); }

    // Addresses the named fused projections as their parts (architecture.h archTable) and every other one whole:
    // the dense slots are re-cut as views of the same weights, so the model computes the same function. Throws
    // basis::Error on a model with factorized or quantized slots.
    void setSplitFused(const std::vector<std::string>& fused);

    // Training (engine/train, decoder_model_training.cpp). Every tensor becomes an ordinary copy in `dtype`
    // (loaded and compressed tensors are inference tensors, which autograd refuses), sharing kept: a tied head
    // stays the embedding, a shared basis one tensor.
    void makeTrainable(c10::ScalarType dtype);
    // Forward passes record autograd instead of running in inference mode.
    void setAutograd(bool on) { m_autograd = on; }
    bool autograd() const { return m_autograd; }

    // Off: attention always goes through matmulCausalAttention (blocks.h), as before the fused small-head kernel,
    // so that bench ppl can time the old path beside the new one in one run.
    void setFusedAttention(bool on) { m_fusedAttention = on; }

    // Distinct parameters (tied embeddings and shared bases counted once).
    int64_t parameterCount() const;

    // Every tensor that is not a projection weight (embeddings, positions, norms, untied head, OPT
    // project_in/out, projection biases), under its checkpoint name. For saving.
    std::vector<std::pair<std::string, at::Tensor>> otherTensors() const;

private:
    DecoderModel() = default;
    void loadWeights(const Checkpoint& ckpt, bool headersOnly = false);
    void enablePaging();
    void positionTables(int64_t start, int64_t tokens, at::Tensor& cos, at::Tensor& sin) const;
    at::Tensor layerForward(int64_t l, const at::Tensor& x, KVCache* cache, int64_t start,
                            const at::Tensor& cos, const at::Tensor& sin) const;
    at::Tensor attention(int64_t l, const LayerWeights& lw, const at::Tensor& x, KVCache* cache, int64_t start,
                         const at::Tensor& cos, const at::Tensor& sin) const;
    at::Tensor mlp(int64_t l, const LayerWeights& lw, const at::Tensor& x) const;
    at::Tensor norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const;
    void observe(int64_t l, InputSite site, const at::Tensor& x) const;

    std::filesystem::path m_dir;
    ModelConfig m_config;
    ArchTable m_table;
    c10::Device m_device{c10::kCPU};
    c10::ScalarType m_dtype = c10::kFloat;
    at::Tensor m_embed, m_positions, m_finalNormW, m_finalNormB, m_lmHead, m_projectIn, m_projectOut;
    std::vector<LayerWeights> m_layers;
    InputObserver m_observer;
    bool m_autograd = false;
    bool m_fusedAttention = true;
    bool m_hostWeights = false;
    struct DevicePages;   // decoder_model_paging.cpp
    std::shared_ptr<DevicePages> m_pages;
};

} // namespace basis
