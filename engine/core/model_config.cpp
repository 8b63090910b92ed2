#include "model_config.h"

#include "atomic_file.h"
#include "error.h"
#include "json_io.h"

#include <cmath>


namespace basis {

namespace {

using nlohmann::json;

// Reads typed keys of one config object and names the source in every error.
class Keys {
public:
    Keys(const json& j, std::string source) : m_j(j), m_source(std::move(source)) {}

    bool has(const char* key) const { return m_j.contains(key) && !m_j.at(key).is_null(); }

    int64_t requiredInt(const char* key) const
    {
        if (!has(key))
            fail(std::string("missing required key '") + key + "'");
        return toInt(key);
    }
    int64_t optInt(const char* key, int64_t fallback) const { return has(key) ? toInt(key) : fallback; }
    std::optional<int64_t> maybeInt(const char* key) const
    {
        if (!has(key) || m_j.at(key).is_array())   // some configs list several eos ids: keep the first
            return has(key) && !m_j.at(key).empty() && m_j.at(key)[0].is_number_integer()
                ? std::optional<int64_t>(m_j.at(key)[0].get<int64_t>()) : std::nullopt;
        return toInt(key);
    }
    double optDouble(const char* key, double fallback) const
    {
        if (!has(key))
            return fallback;
        if (!m_j.at(key).is_number())
            fail(std::string("key '") + key + "' must be a number, found " + describeJson(m_j.at(key)));
        return m_j.at(key).get<double>();
    }
    bool optBool(const char* key, bool fallback) const
    {
        if (!has(key))
            return fallback;
        if (!m_j.at(key).is_boolean())
            fail(std::string("key '") + key + "' must be true or false, found " + describeJson(m_j.at(key)));
        return m_j.at(key).get<bool>();
    }
    std::string optString(const char* key, const std::string& fallback) const
    {
        if (!has(key))
            return fallback;
        if (!m_j.at(key).is_string())
            fail(std::string("key '") + key + "' must be a string, found " + describeJson(m_j.at(key)));
        return m_j.at(key).get<std::string>();
    }
    [[noreturn]] void fail(const std::string& what) const { throw Error(m_source + ": " + what); }

private:
    int64_t toInt(const char* key) const
    {
        const json& v = m_j.at(key);
        if (v.is_number_integer())
            return v.get<int64_t>();
        // 1e308 must not reach the cast (undefined behaviour beyond int64's range).
        if (v.is_number_float() && std::abs(v.get<double>()) < 9.2e18 && v.get<double>() == std::floor(v.get<double>()))
            return static_cast<int64_t>(v.get<double>());
        fail(std::string("key '") + key + "' must be an integer, found " + describeJson(v));
    }

    const json& m_j;
    std::string m_source;
};

Activation parseActivation(const Keys& k, const std::string& name)
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

void parseGpt2(const Keys& k, ModelConfig& c)
{
    c.arch = Arch::GPT2;
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("n_embd");
    c.layers = k.requiredInt("n_layer");
    c.heads = k.requiredInt("n_head");
    c.kvHeads = c.heads;
    c.intermediate = k.optInt("n_inner", 4 * c.hidden);   // null means 4 x n_embd
    c.maxPositions = k.requiredInt("n_positions");
    c.normEps = k.optDouble("layer_norm_epsilon", 1e-5);
    c.norm = NormKind::LayerNorm;
    c.activation = parseActivation(k, k.optString("activation_function", "gelu_new"));
    c.tieEmbeddings = k.optBool("tie_word_embeddings", true);
    c.attentionBias = c.mlpBias = true;
    c.learnedPositions = true;
    c.scaleAttnWeights = k.optBool("scale_attn_weights", true);
    c.scaleAttnByInverseLayerIdx = k.optBool("scale_attn_by_inverse_layer_idx", false);
    c.bosId = k.maybeInt("bos_token_id");
    c.eosId = k.maybeInt("eos_token_id");
}

void parseOpt(const Keys& k, ModelConfig& c)
{
    c.arch = Arch::OPT;
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("hidden_size");
    c.layers = k.requiredInt("num_hidden_layers");
    c.heads = k.requiredInt("num_attention_heads");
    c.kvHeads = c.heads;
    c.intermediate = k.requiredInt("ffn_dim");
    c.maxPositions = k.requiredInt("max_position_embeddings");
    c.normEps = 1e-5;   // fixed in OPT's modelling code
    c.norm = NormKind::LayerNorm;
    c.activation = parseActivation(k, k.optString("activation_function", "relu"));
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

void parseLlamaLike(const Keys& k, ModelConfig& c, Arch arch)
{
    c.arch = arch;
    c.vocabSize = k.requiredInt("vocab_size");
    c.hidden = k.requiredInt("hidden_size");
    c.layers = k.requiredInt("num_hidden_layers");
    c.heads = k.requiredInt("num_attention_heads");
    c.kvHeads = k.optInt("num_key_value_heads", c.heads);
    if (c.heads > 0)
        c.headDim = k.optInt("head_dim", c.hidden / c.heads);
    c.intermediate = k.requiredInt("intermediate_size");
    c.maxPositions = k.optInt("max_position_embeddings", arch == Arch::Mistral ? 32768 : 2048);
    c.normEps = k.optDouble("rms_norm_eps", 1e-6);
    c.norm = NormKind::RMSNorm;
    c.activation = parseActivation(k, k.optString("hidden_act", "silu"));
    c.tieEmbeddings = k.optBool("tie_word_embeddings", false);
    c.attentionBias = arch == Arch::Llama && k.optBool("attention_bias", false);
    c.mlpBias = arch == Arch::Llama && k.optBool("mlp_bias", false);
    c.ropeTheta = k.optDouble("rope_theta", 10000.0);
    if (k.has("rope_scaling"))
        k.fail("rope_scaling is set; scaled RoPE variants are not supported yet");
    if (arch == Arch::Mistral)
        c.slidingWindow = k.optInt("sliding_window", 0);
    c.bosId = k.maybeInt("bos_token_id");
    c.eosId = k.maybeInt("eos_token_id");
    c.padId = k.maybeInt("pad_token_id");
}

void checkSizes(const Keys& k, ModelConfig& c)
{
    auto positive = [&](int64_t v, const char* what) {
        if (v <= 0)
            k.fail(std::string(what) + " must be positive, found " + std::to_string(v));
    };
    positive(c.vocabSize, "vocab size");
    positive(c.hidden, "hidden size");
    positive(c.layers, "layer count");
    positive(c.heads, "attention head count");
    positive(c.kvHeads, "key/value head count");
    positive(c.intermediate, "intermediate (MLP) size");
    positive(c.maxPositions, "max positions");
    if (c.headDim == 0) {
        if (c.hidden % c.heads != 0)
            k.fail("hidden size " + std::to_string(c.hidden) + " is not divisible by " + std::to_string(c.heads) + " heads");
        c.headDim = c.hidden / c.heads;
    }
    positive(c.headDim, "head_dim");
    if (c.heads % c.kvHeads != 0)
        k.fail(std::to_string(c.heads) + " attention heads are not a multiple of " + std::to_string(c.kvHeads) + " key/value heads");
    if (c.ropeTheta > 0 && c.headDim % 2 != 0)
        k.fail("RoPE needs an even head_dim, found " + std::to_string(c.headDim));
    if (c.wordEmbedProjDim == 0)
        c.wordEmbedProjDim = c.hidden;
}

} // namespace

std::string archName(Arch arch)
{
    switch (arch) {
    case Arch::GPT2: return "gpt2";
    case Arch::Llama: return "llama";
    case Arch::OPT: return "opt";
    case Arch::Mistral: return "mistral";
    }
    return "?";
}

std::string activationName(Activation act)
{
    switch (act) {
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::GeluExact: return "gelu";
    case Activation::Relu: return "relu";
    case Activation::Silu: return "silu";
    }
    return "?";
}

ModelConfig parseModelConfig(const nlohmann::json& j, const std::string& source)
{
    Keys k(j, source);
    if (!j.is_object())
        k.fail("expected a JSON object");
    if (!k.has("model_type"))
        k.fail("missing 'model_type' (supported: gpt2, llama, opt, mistral)");
    ModelConfig c;
    c.modelType = k.optString("model_type", "");
    if (c.modelType == "gpt2")
        parseGpt2(k, c);
    else if (c.modelType == "opt")
        parseOpt(k, c);
    else if (c.modelType == "llama")
        parseLlamaLike(k, c, Arch::Llama);
    else if (c.modelType == "mistral")
        parseLlamaLike(k, c, Arch::Mistral);
    else
        k.fail("unknown model_type '" + c.modelType + "' (supported: gpt2, llama, opt, mistral)");
    checkSizes(k, c);
    c.torchDtype = k.optString("torch_dtype", "");
    c.raw = j;
    return c;
}

ModelConfig parseModelConfig(const std::filesystem::path& path)
{
    if (!std::filesystem::exists(path))
        throw Error(path.string() + ": cannot open (a Hugging Face model folder needs config.json)");
    return parseModelConfig(readJsonFile(path), path.string());
}

} // namespace basis
