// OPT (model_type opt): learned positions offset by 2, LayerNorm with bias, optional project_in/out and
// post-norm blocks.
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("hidden_size");
    c.layers = k.requiredInt("num_hidden_layers");
    c.heads = k.requiredInt("num_attention_heads");
    c.kvHeads = c.heads;
    c.intermediate = k.requiredInt("ffn_dim");
    c.maxPositions = k.requiredInt("max_position_embeddings");
    c.normEps = 1e-5;   // fixed in OPT's modelling code
    c.norm = NormKind::LayerNorm;
    c.activation = archs::parseActivation(k, k.optString("activation_function", "relu"));
    c.tieEmbeddings = k.optBool("tie_word_embeddings", true);
    c.attentionBias = c.mlpBias = k.optBool("enable_bias", true);
    c.learnedPositions = true;
    c.positionOffset = 2;
    c.normBefore = k.optBool("do_layer_norm_before", true);
    c.finalNorm = c.normBefore && !k.optBool("_remove_final_layer_norm", false);
    c.wordEmbedProjDim = k.optInt("word_embed_proj_dim", c.hidden);
    if (!k.optBool("layer_norm_elementwise_affine", true))
        k.fail("layer_norm_elementwise_affine=false is not supported");
    c.bosId = k.maybeInt("bos_token_id");
    c.eosId = k.maybeInt("eos_token_id");
    c.padId = k.maybeInt("pad_token_id");
}

ArchTable table(const ModelConfig& c)
{
    ArchTable t;
    t.layerPrefix = "model.decoder.layers.{L}.";
    const int64_t h = c.hidden, f = c.intermediate;
    const bool b = c.attentionBias;
    t.projections = {
        projection("q", "self_attn.q_proj", Role::Q, InputSite::AttnIn, h, h, false, b),
        projection("k", "self_attn.k_proj", Role::K, InputSite::AttnIn, h, h, false, b),
        projection("v", "self_attn.v_proj", Role::V, InputSite::AttnIn, h, h, false, b),
        projection("out_proj", "self_attn.out_proj", Role::O, InputSite::AttnOut, h, h, false, b),
        projection("fc1", "fc1", Role::FcIn, InputSite::MlpIn, h, f, false, b),
        projection("fc2", "fc2", Role::FcOut, InputSite::MlpOut, f, h, false, b),
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

nlohmann::json synthConfig(const SynthShape& s)
{
    return {{"architectures", {"OPTForCausalLM"}}, {"model_type", "opt"}, {"vocab_size", s.vocab},
            {"hidden_size", s.hidden}, {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads},
            {"ffn_dim", s.intermediate}, {"max_position_embeddings", s.maxPositions}, {"do_layer_norm_before", true},
            {"word_embed_proj_dim", s.hidden}, {"activation_function", "relu"}, {"enable_bias", true},
            {"bos_token_id", 2}, {"eos_token_id", 2}, {"pad_token_id", 1}, {"tie_word_embeddings", true}};
}

} // namespace

const ArchDefinition& optArchitecture()
{
    static const ArchDefinition def{
        "opt", /*separateKvHeads=*/false, parse, table,
        {"q", "k", "v", "fc1"},
        "Basis Sharing's OPT choice: q, k, v and the MLP input",
        synthConfig,
        {archs::synthShape("opt-125m", "opt", 50272, 768, 12, 12, 12, 3072, 2048, true, false),
         archs::synthShape("opt-micro", "opt", 512, 64, 4, 4, 4, 256, 256, true, true)}};
    return def;
}

} // namespace basis
