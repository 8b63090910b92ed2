#include "model_config.h"

#include "arch_registry.h"
#include "atomic_file.h"
#include "config_keys.h"
#include "error.h"
#include "json_io.h"

#include <cmath>


namespace basis {

namespace {

void checkSizes(const ConfigKeys& k, ModelConfig& c)
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
    ConfigKeys k(j, source);
    if (!j.is_object())
        k.fail("expected a JSON object");
    if (!k.has("model_type"))
        k.fail("missing 'model_type' (supported: " + supportedModelTypes() + ")");
    ModelConfig c;
    c.modelType = k.optString("model_type", "");
    const ArchDefinition* arch = nullptr;
    try {
        arch = &architecture(c.modelType);
    } catch (const Error& e) {
        k.fail(e.what());
    }
    c.arch = arch->modelType;
    arch->parseConfig(k, c);
    checkSizes(k, c);
    c.torchDtype = k.optString("torch_dtype", "");
    c.raw = j;
    // A compressed folder whose setting named the parts of a fused projection stores those parts on their own.
    if (j.contains("compression") && j["compression"].is_object() && j["compression"].contains("split_fused")) {
        const auto& split = j["compression"]["split_fused"];
        if (!split.is_array())
            k.fail("compression.split_fused must be a list of fused projection names");
        for (const auto& n : split) {
            if (!n.is_string())
                k.fail("compression.split_fused must be a list of fused projection names");
            c.splitFused.push_back(n.get<std::string>());
        }
        try {
            archTable(c);
        } catch (const Error& e) {
            k.fail(std::string("compression.split_fused: ") + e.what());
        }
    }
    return c;
}

ModelConfig parseModelConfig(const std::filesystem::path& path)
{
    if (!std::filesystem::exists(path))
        throw Error(path.string() + ": cannot open (a Hugging Face model folder needs config.json)");
    return parseModelConfig(readJsonFile(path), path.string());
}

} // namespace basis
