// Phi-3 (model_type phi3): LLaMA-like with fused projections: self_attn.qkv_proj = rows [q | k | v] (GQA
// sizes) and mlp.gate_up_proj = rows [gate | up]. Both can also be split into their parts (fusedSplits).
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    archs::LlamaFamilyDefaults d;
    d.maxPositions = 4096;
    d.normEps = 1e-5;
    archs::parseLlamaFamily(k, c, d);
    c.slidingWindow = k.optInt("sliding_window", 0);
    if (k.optDouble("partial_rotary_factor", 1.0) != 1.0)
        k.fail("partial_rotary_factor other than 1 is not supported");
}

ArchTable table(const ModelConfig& c)
{
    ArchTable t = archs::llamaFamilyTable(c, {});
    const int64_t h = c.hidden, f = c.intermediate;
    const int64_t qOut = c.heads * c.headDim, kvOut = c.kvHeads * c.headDim;
    // One weight and one input each: one compression target each (see defaultSharedReason).
    t.projections = {
        projection("qkv", "self_attn.qkv_proj", Role::QKV, InputSite::AttnIn, h, qOut + 2 * kvOut, false, false),
        projection("o", "self_attn.o_proj", Role::O, InputSite::AttnOut, qOut, h, false, false),
        projection("gate_up", "mlp.gate_up_proj", Role::GateUp, InputSite::MlpIn, h, 2 * f, false, false),
        projection("down", "mlp.down_proj", Role::Down, InputSite::MlpOut, f, h, false, false),
    };
    return t;
}

nlohmann::json synthConfig(const SynthShape& s)
{
    nlohmann::json j = archs::llamaFamilySynthConfig(s, "Phi3ForCausalLM");
    j["original_max_position_embeddings"] = s.maxPositions;
    j["sliding_window"] = s.slidingWindow > 0 ? nlohmann::json(s.slidingWindow) : nlohmann::json(nullptr);
    j["pad_token_id"] = nullptr;
    j.erase("head_dim");   // Phi3Config has no head_dim: hidden / heads
    j.update(s.extraConfig);
    return j;
}

std::vector<SynthShape> shapes()
{
    using archs::synthShape;
    // Phi-3-mini-4k: 32 heads (no GQA), sliding window 2047, 3,821,079,552 parameters.
    SynthShape mini = synthShape("phi3-mini", "phi3", 32064, 3072, 32, 32, 32, 8192, 4096, false, false);
    mini.slidingWindow = 2047;
    // GQA in the micro shape (8 heads on 2 kv heads), so that the fused split by GQA sizes is exercised.
    return {mini, synthShape("phi3-micro", "phi3", 512, 64, 4, 8, 2, 160, 256, false, true)};
}

} // namespace

const ArchDefinition& phi3Architecture()
{
    static const ArchDefinition def{
        "phi3", /*separateKvHeads=*/true, parse, table,
        {"qkv", "gate_up"},
        "the fused projections are one target each: q, k and v (gate and up) read the same input and are one "
        "stored weight, so one basis of that input serves all of them and the saved model keeps Phi-3's tensor "
        "layout; they are shared like LLaMA's q, k, v, up, gate, and o and down stay private. Naming q, k, v (or "
        "gate, up) addresses the rows of the fused weight separately, as LLaMA's projections (for Mistral's GQA "
        "choice: --share q,gate,up --private k,v,o,down)",
        synthConfig, shapes(),
        {{"qkv", {{"q", "self_attn.q_proj", Role::Q}, {"k", "self_attn.k_proj", Role::K}, {"v", "self_attn.v_proj", Role::V}}},
         {"gate_up", {{"gate", "mlp.gate_proj", Role::Gate}, {"up", "mlp.up_proj", Role::Up}}}}};
    return def;
}

} // namespace basis
