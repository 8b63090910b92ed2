#include "architecture.h"

#include "error.h"

namespace basis {

namespace {

ProjectionSpec proj(std::string part, std::string module, Role role, InputSite site, int64_t in, int64_t out,
                    bool inOut, bool bias)
{
    return ProjectionSpec{std::move(part), std::move(module), role, site, in, out, inOut, bias};
}

ArchTable gpt2Table(const ModelConfig& c)
{
    ArchTable t;
    t.layerPrefix = "transformer.h.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    t.projections = {
        proj("attn.c_attn", "attn.c_attn", Role::QKV, InputSite::AttnIn, h, 3 * h, true, true),
        proj("attn.c_proj", "attn.c_proj", Role::O, InputSite::AttnOut, h, h, true, true),
        proj("mlp.c_fc", "mlp.c_fc", Role::FcIn, InputSite::MlpIn, h, f, true, true),
        proj("mlp.c_proj", "mlp.c_proj", Role::FcOut, InputSite::MlpOut, f, h, true, true),
    };
    t.attnNorm = "ln_1";
    t.mlpNorm = "ln_2";
    t.normHasBias = true;
    t.embedTokens = "transformer.wte.weight";
    t.embedPositions = "transformer.wpe.weight";
    t.finalNorm = "transformer.ln_f";
    t.lmHead = c.tieEmbeddings ? "" : "lm_head.weight";
    return t;
}

ArchTable optTable(const ModelConfig& c)
{
    ArchTable t;
    t.layerPrefix = "model.decoder.layers.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    const bool b = c.attentionBias;
    t.projections = {
        proj("q", "self_attn.q_proj", Role::Q, InputSite::AttnIn, h, h, false, b),
        proj("k", "self_attn.k_proj", Role::K, InputSite::AttnIn, h, h, false, b),
        proj("v", "self_attn.v_proj", Role::V, InputSite::AttnIn, h, h, false, b),
        proj("out_proj", "self_attn.out_proj", Role::O, InputSite::AttnOut, h, h, false, b),
        proj("fc1", "fc1", Role::FcIn, InputSite::MlpIn, h, f, false, b),
        proj("fc2", "fc2", Role::FcOut, InputSite::MlpOut, f, h, false, b),
    };
    t.attnNorm = "self_attn_layer_norm";
    t.mlpNorm = "final_layer_norm";
    t.normHasBias = true;
    t.embedTokens = "model.decoder.embed_tokens.weight";
    t.embedPositions = "model.decoder.embed_positions.weight";
    t.finalNorm = c.finalNorm ? "model.decoder.final_layer_norm" : "";
    t.lmHead = c.tieEmbeddings ? "" : "lm_head.weight";
    if (c.wordEmbedProjDim != c.hidden) {
        t.projectIn = "model.decoder.project_in.weight";
        t.projectOut = "model.decoder.project_out.weight";
    }
    return t;
}

ArchTable llamaTable(const ModelConfig& c)
{
    ArchTable t;
    t.layerPrefix = "model.layers.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    const int64_t qOut = c.heads * c.headDim, kvOut = c.kvHeads * c.headDim;
    const bool ab = c.attentionBias, mb = c.mlpBias;
    t.projections = {
        proj("q", "self_attn.q_proj", Role::Q, InputSite::AttnIn, h, qOut, false, ab),
        proj("k", "self_attn.k_proj", Role::K, InputSite::AttnIn, h, kvOut, false, ab),
        proj("v", "self_attn.v_proj", Role::V, InputSite::AttnIn, h, kvOut, false, ab),
        proj("o", "self_attn.o_proj", Role::O, InputSite::AttnOut, qOut, h, false, ab),
        proj("gate", "mlp.gate_proj", Role::Gate, InputSite::MlpIn, h, f, false, mb),
        proj("up", "mlp.up_proj", Role::Up, InputSite::MlpIn, h, f, false, mb),
        proj("down", "mlp.down_proj", Role::Down, InputSite::MlpOut, f, h, false, mb),
    };
    t.attnNorm = "input_layernorm";
    t.mlpNorm = "post_attention_layernorm";
    t.normHasBias = false;
    t.embedTokens = "model.embed_tokens.weight";
    t.finalNorm = "model.norm";
    t.lmHead = c.tieEmbeddings ? "" : "lm_head.weight";
    return t;
}

} // namespace

std::string inputSiteName(InputSite site)
{
    switch (site) {
    case InputSite::AttnIn: return "attn_in";
    case InputSite::AttnOut: return "attn_out";
    case InputSite::MlpIn: return "mlp_in";
    case InputSite::MlpOut: return "mlp_out";
    }
    return "?";
}

std::string ArchTable::layerTensor(int64_t layer, const std::string& moduleAndParam) const
{
    std::string prefix = layerPrefix;
    const auto at = prefix.find("{L}");
    prefix.replace(at, 3, std::to_string(layer));
    return prefix + moduleAndParam;
}

const ProjectionSpec* ArchTable::findPart(const std::string& name) const
{
    for (const auto& p : projections)
        if (p.part == name || p.module == name)
            return &p;
    return nullptr;
}

std::vector<std::string> ArchTable::partNames() const
{
    std::vector<std::string> names;
    for (const auto& p : projections)
        names.push_back(p.part);
    return names;
}

ArchTable archTable(const ModelConfig& c)
{
    switch (c.arch) {
    case Arch::GPT2: return gpt2Table(c);
    case Arch::OPT: return optTable(c);
    case Arch::Llama:
    case Arch::Mistral: return llamaTable(c);
    }
    throw Error("internal: no architecture table for " + archName(c.arch));
}

std::vector<std::string> defaultSharedParts(Arch arch)
{
    switch (arch) {
    case Arch::GPT2: return {"attn.c_attn", "attn.c_proj", "mlp.c_fc"};
    case Arch::OPT: return {"q", "k", "v", "fc1"};
    case Arch::Llama: return {"q", "k", "v", "up", "gate"};
    case Arch::Mistral: return {"q", "up", "gate"};   // GQA: small k/v stay private
    }
    return {};
}

} // namespace basis
