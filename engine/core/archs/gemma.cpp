// Gemma (model_type gemma): RMSNorm gain (1 + w), embeddings scaled by sqrt(hidden), gelu (tanh), explicit
// head_dim, tied head.
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    archs::LlamaFamilyDefaults d;
    d.maxPositions = 8192;
    d.tieEmbeddings = true;
    d.headDim = 256;
    // transformers' GemmaMLP reads hidden_activation (hidden_act is the legacy key it ignores), and falls back
    // to gelu_pytorch_tanh when it is unset.
    d.activationKey = "hidden_activation";
    d.activation = "gelu_pytorch_tanh";
    d.ropeScaling = false;
    archs::parseLlamaFamily(k, c, d);
    c.attentionBias = k.optBool("attention_bias", false);
    c.rmsNormUnitOffset = true;
    c.scaleEmbeddings = true;
}

ArchTable table(const ModelConfig& c)
{
    return archs::llamaFamilyTable(c, {c.attentionBias, c.attentionBias, false});
}

nlohmann::json synthConfig(const SynthShape& s)
{
    nlohmann::json j = archs::llamaFamilySynthConfig(s, "GemmaForCausalLM");
    j["rms_norm_eps"] = 1e-6;
    j["hidden_act"] = "gelu_pytorch_tanh";
    j["hidden_activation"] = "gelu_pytorch_tanh";
    j["bos_token_id"] = 2;
    j["eos_token_id"] = 1;
    j["pad_token_id"] = 0;
    j.update(s.extraConfig);
    return j;
}

std::vector<SynthShape> shapes()
{
    using archs::synthShape;
    // Gemma-2B: multi-query attention (8 heads, 1 kv head) with head_dim 256, tied, 2,506,172,416 parameters.
    SynthShape big = synthShape("gemma-2b", "gemma", 256000, 2048, 18, 8, 1, 16384, 8192, true, false);
    big.headDim = 256;
    // head_dim 16 with 8 heads on hidden 64: q/o are 128 wide, not hidden, as in Gemma-7B.
    SynthShape micro = synthShape("gemma-micro", "gemma", 512, 64, 4, 8, 1, 160, 256, true, true);
    micro.headDim = 16;
    return {big, micro};
}

} // namespace

const ArchDefinition& gemmaArchitecture()
{
    static const ArchDefinition def{
        "gemma", /*separateKvHeads=*/true, parse, table,
        {"q", "up", "gate"},
        "as for Mistral: Gemma-2B is multi-query (one kv head), so k and v are tiny and stay private; q, up and "
        "gate are shared",
        synthConfig, shapes()};
    return def;
}

} // namespace basis
