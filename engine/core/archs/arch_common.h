#pragma once
// Pieces several architecture files share: the LLaMA-family config keys, tensor names and synthetic
// config.json (LLaMA, Mistral, Qwen2, Gemma and Phi-3 are all variations of one pre-norm RoPE decoder).
#include "arch_registry.h"

namespace basis::archs {

Activation parseActivation(const ConfigKeys& keys, const std::string& name);

struct LlamaFamilyDefaults {
    int64_t maxPositions = 2048;
    double normEps = 1e-6;
    bool tieEmbeddings = false;
    int64_t headDim = 0;                 // 0: hidden / heads (Gemma: 256)
    const char* activationKey = "hidden_act";
    const char* activation = "silu";
    bool ropeScaling = true;             // false: the architecture's code ignores rope_scaling, so refuse it
};
// Sizes, heads, norm, activation, tie, RoPE (rope_theta, rope_scaling) and token ids.
void parseLlamaFamily(const ConfigKeys& keys, ModelConfig& config, const LlamaFamilyDefaults& defaults);

struct LlamaFamilyBiases {
    bool qkv = false, o = false, mlp = false;
};
// model.layers.{L}.self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, input/post_attention_layernorm.
ArchTable llamaFamilyTable(const ModelConfig& config, const LlamaFamilyBiases& biases);

// config.json of a LLaMA-family shape (sizes, silu, rope_theta 10000), then shape.extraConfig merged in.
nlohmann::json llamaFamilySynthConfig(const SynthShape& shape, const char* modelClass);

SynthShape synthShape(std::string name, std::string arch, int64_t vocab, int64_t hidden, int64_t layers, int64_t heads,
                      int64_t kvHeads, int64_t intermediate, int64_t maxPositions, bool tie, bool micro);

} // namespace basis::archs
