// Qwen2 (model_type qwen2): LLaMA with a bias on q, k and v (not o, not the MLP), GQA, rope_theta 1e6.
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    archs::LlamaFamilyDefaults d;
    d.maxPositions = 32768;
    archs::parseLlamaFamily(k, c, d);
    // transformers' eager Qwen2 masks with the sliding window only when use_sliding_window is on (and then
    // only above max_window_layers); the decoder has one window for all layers, so refuse rather than differ.
    if (k.optBool("use_sliding_window", false))
        k.fail("use_sliding_window=true is not supported for qwen2 (per-layer windows above max_window_layers); "
               "set it to false to run with full causal attention");
    c.attentionBias = true;
}

ArchTable table(const ModelConfig& c)
{
    return archs::llamaFamilyTable(c, {/*qkv=*/true, /*o=*/false, /*mlp=*/false});
}

nlohmann::json synthConfig(const SynthShape& s)
{
    nlohmann::json j = archs::llamaFamilySynthConfig(s, "Qwen2ForCausalLM");
    j["rms_norm_eps"] = 1e-6;
    j["use_sliding_window"] = false;
    j["sliding_window"] = nullptr;
    j.update(s.extraConfig);
    return j;
}

std::vector<SynthShape> shapes()
{
    using archs::synthShape;
    // Qwen2-0.5B: 14 query heads on 2 kv heads, tied embeddings, 494,032,768 parameters.
    SynthShape big = synthShape("qwen2-0.5b", "qwen2", 151936, 896, 24, 14, 2, 4864, 131072, true, false);
    big.extraConfig = {{"rope_theta", 1000000.0}, {"max_window_layers", 24}};
    SynthShape micro = synthShape("qwen2-micro", "qwen2", 512, 64, 4, 8, 2, 160, 256, false, true);
    micro.extraConfig = {{"rope_theta", 1000000.0}};
    return {big, micro};
}

} // namespace

const ArchDefinition& qwen2Architecture()
{
    static const ArchDefinition def{
        "qwen2", /*separateKvHeads=*/true, parse, table,
        {"q", "up", "gate"},
        "as for Mistral: every Qwen2 size uses GQA (0.5B: 14 query heads on 2 kv heads), so k and v are small "
        "and stay private; q, up and gate are shared",
        synthConfig, shapes()};
    return def;
}

} // namespace basis
