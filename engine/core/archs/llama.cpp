// LLaMA 1/2/3/3.1/3.2 (model_type llama): RMSNorm, RoPE (with rope_scaling llama3), optional biases, GQA.
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    archs::parseLlamaFamily(k, c, {});
    c.attentionBias = k.optBool("attention_bias", false);
    c.mlpBias = k.optBool("mlp_bias", false);
}

ArchTable table(const ModelConfig& c)
{
    return archs::llamaFamilyTable(c, {c.attentionBias, c.attentionBias, c.mlpBias});
}

nlohmann::json synthConfig(const SynthShape& s)
{
    return archs::llamaFamilySynthConfig(s, "LlamaForCausalLM");
}

std::vector<SynthShape> shapes()
{
    using archs::synthShape;
    // LLaMA-3.1-8B: GQA 32/8 and the llama3 rope scaling of the 3.1 release.
    SynthShape l3 = synthShape("llama3-8b", "llama", 128256, 4096, 32, 32, 8, 14336, 131072, false, false);
    l3.extraConfig = {{"rope_theta", 500000.0},
                      {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                        {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 8192}}}};
    SynthShape l3micro = synthShape("llama3-micro", "llama", 512, 64, 4, 8, 2, 160, 256, false, true);
    l3micro.extraConfig = {{"rope_theta", 500000.0},
                           {"rope_scaling", {{"rope_type", "llama3"}, {"factor", 8.0}, {"low_freq_factor", 1.0},
                                             {"high_freq_factor", 4.0}, {"original_max_position_embeddings", 64}}}};
    return {
        // A small LLaMA-style MHA shape for benchmarks.
        synthShape("llama-tiny", "llama", 32000, 512, 8, 8, 8, 1376, 2048, false, false),
        // Basis Sharing's headline models and TinyLlama-1.1B (GQA 32/4), for the big-model benchmarks.
        synthShape("llama2-7b", "llama", 32000, 4096, 32, 32, 32, 11008, 4096, false, false),
        synthShape("llama2-13b", "llama", 32000, 5120, 40, 40, 40, 13824, 4096, false, false),
        synthShape("tinyllama-1.1b", "llama", 32000, 2048, 22, 32, 4, 5632, 2048, false, false),
        l3,
        synthShape("llama-micro", "llama", 512, 64, 4, 8, 4, 172, 256, false, true),
        l3micro,
    };
}

} // namespace

const ArchDefinition& llamaArchitecture()
{
    static const ArchDefinition def{
        "llama", /*separateKvHeads=*/true, parse, table,
        {"q", "k", "v", "up", "gate"},
        "Basis Sharing's published LLaMA choice (q, k, v, up, gate shared; o and down private). It was chosen on "
        "multi-head LLaMA-1/2; for GQA models (LLaMA-3) pass --shared q,up,gate to keep the small k/v private "
        "as for Mistral",
        synthConfig, shapes()};
    return def;
}

} // namespace basis
