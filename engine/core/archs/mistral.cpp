// Mistral (model_type mistral): LLaMA without biases, GQA, sliding-window attention.
#include "arch_common.h"

namespace basis {

namespace {

void parse(const ConfigKeys& k, ModelConfig& c)
{
    archs::LlamaFamilyDefaults d;
    d.maxPositions = 32768;
    d.ropeScaling = false;
    archs::parseLlamaFamily(k, c, d);
    c.slidingWindow = k.optInt("sliding_window", 0);
}

ArchTable table(const ModelConfig& c)
{
    return archs::llamaFamilyTable(c, {});
}

nlohmann::json synthConfig(const SynthShape& s)
{
    nlohmann::json j = archs::llamaFamilySynthConfig(s, "MistralForCausalLM");
    j["sliding_window"] = s.slidingWindow > 0 ? nlohmann::json(s.slidingWindow) : nlohmann::json(nullptr);
    return j;
}

std::vector<SynthShape> shapes()
{
    // A small GQA shape for benchmarks (4 query heads per kv head), and a micro one for tests.
    SynthShape tiny = archs::synthShape("mistral-tiny", "mistral", 32000, 512, 8, 8, 2, 1792, 2048, false, false);
    tiny.slidingWindow = 4096;
    SynthShape micro = archs::synthShape("mistral-micro", "mistral", 512, 64, 4, 8, 2, 160, 256, false, true);
    micro.slidingWindow = 32;
    // Mistral-7B-v0.1.
    SynthShape m7 = archs::synthShape("mistral-7b", "mistral", 32000, 4096, 32, 32, 8, 14336, 32768, false, false);
    m7.slidingWindow = 4096;
    return {tiny, m7, micro};
}

} // namespace

const ArchDefinition& mistralArchitecture()
{
    static const ArchDefinition def{
        "mistral", /*separateKvHeads=*/true, parse, table,
        {"q", "up", "gate"},
        "Basis Sharing's Mistral choice: with GQA, k and v are small (kv heads x head_dim outputs), so sharing "
        "them saves little and costs accuracy; they stay private",
        synthConfig, shapes()};
    return def;
}

} // namespace basis
