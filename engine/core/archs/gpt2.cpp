// GPT-2 (model_type gpt2): learned positions, LayerNorm with bias, fused Conv1D c_attn stored [in, out].
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("n_embd");
    c.layers = k.requiredInt("n_layer");
    c.heads = k.requiredInt("n_head");
    c.kvHeads = c.heads;
    c.intermediate = k.optInt("n_inner", 4 * c.hidden);   // null means 4 x n_embd
    c.maxPositions = k.requiredInt("n_positions");
    c.normEps = k.optDouble("layer_norm_epsilon", 1e-5);
    c.norm = NormKind::LayerNorm;
    c.activation = archs::parseActivation(k, k.optString("activation_function", "gelu_new"));
    c.tieEmbeddings = k.optBool("tie_word_embeddings", true);
    c.attentionBias = c.mlpBias = true;
    c.learnedPositions = true;
    c.scaleAttnWeights = k.optBool("scale_attn_weights", true);
    c.scaleAttnByInverseLayerIdx = k.optBool("scale_attn_by_inverse_layer_idx", false);
    c.bosId = k.maybeInt("bos_token_id");
    c.eosId = k.maybeInt("eos_token_id");
}

ArchTable table(const ModelConfig& c)
{
    ArchTable t;
    t.layerPrefix = "transformer.h.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    t.projections = {
        projection("attn.c_attn", "attn.c_attn", Role::QKV, InputSite::AttnIn, h, 3 * h, true, true),
        projection("attn.c_proj", "attn.c_proj", Role::O, InputSite::AttnOut, h, h, true, true),
        projection("mlp.c_fc", "mlp.c_fc", Role::FcIn, InputSite::MlpIn, h, f, true, true),
        projection("mlp.c_proj", "mlp.c_proj", Role::FcOut, InputSite::MlpOut, f, h, true, true),
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

nlohmann::json synthConfig(const SynthShape& s)
{
    return {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", s.vocab},
            {"n_embd", s.hidden}, {"n_layer", s.layers}, {"n_head", s.heads}, {"n_inner", s.intermediate},
            {"n_positions", s.maxPositions}, {"n_ctx", s.maxPositions}, {"layer_norm_epsilon", 1e-5},
            {"activation_function", "gelu_new"}, {"bos_token_id", s.vocab - 1}, {"eos_token_id", s.vocab - 1},
            {"tie_word_embeddings", true}};
}

} // namespace

const ArchDefinition& gpt2Architecture()
{
    static const ArchDefinition def{
        "gpt2", /*separateKvHeads=*/false, parse, table,
        {"attn.c_attn", "attn.c_proj", "mlp.c_fc"},
        "Basis Sharing's GPT-2 choice: the fused attention input, the attention output and the MLP input",
        synthConfig,
        {archs::synthShape("gpt2-124m", "gpt2", 50257, 768, 12, 12, 12, 3072, 1024, true, false),
         archs::synthShape("gpt2-micro", "gpt2", 512, 64, 4, 4, 4, 256, 256, true, true)}};
    return def;
}

} // namespace basis
