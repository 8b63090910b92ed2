#include "arch_common.h"

namespace basis::archs {

Activation parseActivation(const ConfigKeys& k, const std::string& name)
{
    if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
        return Activation::GeluTanh;
    if (name == "gelu")
        return Activation::GeluExact;
    if (name == "relu")
        return Activation::Relu;
    if (name == "silu" || name == "swish")
        return Activation::Silu;
    k.fail("unsupported activation '" + name + "' (supported: gelu_new, gelu_pytorch_tanh, gelu, relu, silu)");
}

namespace {

// transformers' rope_scaling: "rope_type" (or the older "type"). Only llama3 is implemented; the others change
// the frequencies or the positions in ways the decoder does not do, so they are refused by name.
void parseRopeScaling(const ConfigKeys& k, ModelConfig& c)
{
    const ConfigKeys r = k.object("rope_scaling");
    const std::string type = r.optString("rope_type", r.optString("type", ""));
    if (type == "default" || type.empty()) {
        if (type.empty())
            k.fail("rope_scaling has no 'rope_type'");
        return;
    }
    if (type != "llama3")
        k.fail("rope_scaling.rope_type '" + type + "' is not supported (supported: llama3)");
    RopeScaling& s = c.ropeScaling;
    s.type = RopeScaling::Type::Llama3;
    s.factor = r.optDouble("factor", 0.0);
    s.lowFreqFactor = r.optDouble("low_freq_factor", 0.0);
    s.highFreqFactor = r.optDouble("high_freq_factor", 0.0);
    s.originalMaxPositions = r.requiredInt("original_max_position_embeddings");
    if (!(s.factor > 0) || !(s.lowFreqFactor > 0) || !(s.highFreqFactor > s.lowFreqFactor) || s.originalMaxPositions <= 0)
        k.fail("rope_scaling (llama3) needs factor > 0, 0 < low_freq_factor < high_freq_factor and "
               "original_max_position_embeddings > 0");
}

} // namespace

void parseLlamaFamily(const ConfigKeys& k, ModelConfig& c, const LlamaFamilyDefaults& d)
{
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("hidden_size");
    c.layers = k.requiredInt("num_hidden_layers");
    c.heads = k.requiredInt("num_attention_heads");
    c.kvHeads = k.optInt("num_key_value_heads", c.heads);
    if (c.heads > 0)
        c.headDim = k.optInt("head_dim", d.headDim > 0 ? d.headDim : c.hidden / c.heads);
    c.intermediate = k.requiredInt("intermediate_size");
    c.maxPositions = k.optInt("max_position_embeddings", d.maxPositions);
    c.normEps = k.optDouble("rms_norm_eps", d.normEps);
    c.norm = NormKind::RMSNorm;
    c.activation = parseActivation(k, k.optString(d.activationKey, d.activation));
    c.tieEmbeddings = k.optBool("tie_word_embeddings", d.tieEmbeddings);
    c.ropeTheta = k.optDouble("rope_theta", 10000.0);
    if (k.has("rope_scaling")) {
        if (!d.ropeScaling)
            k.fail("rope_scaling is set, but " + c.modelType + " models do not use it (transformers ignores it); "
                   "remove the key or use a model_type that scales RoPE");
        parseRopeScaling(k, c);
    }
    c.bosId = k.maybeInt("bos_token_id");
    c.eosId = k.maybeInt("eos_token_id");
    c.padId = k.maybeInt("pad_token_id");
}

ArchTable llamaFamilyTable(const ModelConfig& c, const LlamaFamilyBiases& b)
{
    ArchTable t;
    t.layerPrefix = "model.layers.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    const int64_t qOut = c.heads * c.headDim, kvOut = c.kvHeads * c.headDim;
    t.projections = {
        projection("q", "self_attn.q_proj", Role::Q, InputSite::AttnIn, h, qOut, false, b.qkv),
        projection("k", "self_attn.k_proj", Role::K, InputSite::AttnIn, h, kvOut, false, b.qkv),
        projection("v", "self_attn.v_proj", Role::V, InputSite::AttnIn, h, kvOut, false, b.qkv),
        projection("o", "self_attn.o_proj", Role::O, InputSite::AttnOut, qOut, h, false, b.o),
        projection("gate", "mlp.gate_proj", Role::Gate, InputSite::MlpIn, h, f, false, b.mlp),
        projection("up", "mlp.up_proj", Role::Up, InputSite::MlpIn, h, f, false, b.mlp),
        projection("down", "mlp.down_proj", Role::Down, InputSite::MlpOut, f, h, false, b.mlp),
    };
    t.attnNorm = "input_layernorm";
    t.mlpNorm = "post_attention_layernorm";
    t.normHasBias = false;
    t.embedTokens = "model.embed_tokens.weight";
    t.finalNorm = "model.norm";
    t.lmHead = c.tieEmbeddings ? "" : "lm_head.weight";
    return t;
}

nlohmann::json llamaFamilySynthConfig(const SynthShape& s, const char* modelClass)
{
    nlohmann::json j = {{"architectures", {modelClass}}, {"model_type", s.arch}, {"vocab_size", s.vocab},
                        {"hidden_size", s.hidden}, {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads},
                        {"num_key_value_heads", s.kvHeads}, {"head_dim", s.headDim > 0 ? s.headDim : s.hidden / s.heads},
                        {"intermediate_size", s.intermediate}, {"max_position_embeddings", s.maxPositions},
                        {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0}, {"hidden_act", "silu"},
                        {"tie_word_embeddings", s.tieEmbeddings}, {"bos_token_id", 1}, {"eos_token_id", 2}};
    j.update(s.extraConfig);
    return j;
}

SynthShape synthShape(std::string name, std::string arch, int64_t vocab, int64_t hidden, int64_t layers, int64_t heads,
                      int64_t kvHeads, int64_t intermediate, int64_t maxPositions, bool tie, bool micro)
{
    SynthShape s;
    s.name = std::move(name);
    s.arch = std::move(arch);
    s.vocab = vocab;
    s.hidden = hidden;
    s.layers = layers;
    s.heads = heads;
    s.kvHeads = kvHeads;
    s.intermediate = intermediate;
    s.maxPositions = maxPositions;
    s.tieEmbeddings = tie;
    s.micro = micro;
    return s;
}

} // namespace basis::archs
