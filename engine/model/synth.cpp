#include "synth.h"

#include "architecture.h"
#include "atomic_file.h"
#include "compressed_io.h"
#include "error.h"
#include "safetensors.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace basis {

namespace {

SynthShape shape(std::string name, Arch arch, int64_t vocab, int64_t hidden, int64_t layers, int64_t heads, int64_t kvHeads,
                 int64_t intermediate, int64_t maxPositions, bool tie, int64_t window = 0)
{
    SynthShape s;
    s.name = std::move(name);
    s.arch = arch;
    s.vocab = vocab;
    s.hidden = hidden;
    s.layers = layers;
    s.heads = heads;
    s.kvHeads = kvHeads;
    s.intermediate = intermediate;
    s.maxPositions = maxPositions;
    s.tieEmbeddings = tie;
    s.slidingWindow = window;
    return s;
}

std::vector<SynthShape> presets()
{
    return {
        // Real published shapes.
        shape("gpt2-124m", Arch::GPT2, 50257, 768, 12, 12, 12, 3072, 1024, true),
        shape("opt-125m", Arch::OPT, 50272, 768, 12, 12, 12, 3072, 2048, true),
        // Small LLaMA/Mistral-style shapes for benchmarks: MHA, and GQA with 4 query heads per kv head.
        shape("llama-tiny", Arch::Llama, 32000, 512, 8, 8, 8, 1376, 2048, false),
        shape("mistral-tiny", Arch::Mistral, 32000, 512, 8, 8, 2, 1792, 2048, false, 4096),
        // Very small shapes for fast tests.
        shape("gpt2-micro", Arch::GPT2, 512, 64, 4, 4, 4, 256, 256, true),
        shape("opt-micro", Arch::OPT, 512, 64, 4, 4, 4, 256, 256, true),
        shape("llama-micro", Arch::Llama, 512, 64, 4, 8, 4, 172, 256, false),
        shape("mistral-micro", Arch::Mistral, 512, 64, 4, 8, 2, 160, 256, false, 32),
    };
}

} // namespace

std::vector<std::string> synthPresetNames()
{
    std::vector<std::string> names;
    for (const auto& p : presets())
        names.push_back(p.name);
    return names;
}

SynthShape synthPreset(const std::string& name)
{
    std::string known;
    for (const auto& p : presets()) {
        if (p.name == name)
            return p;
        known += (known.empty() ? "" : ", ") + p.name;
    }
    throw Error("unknown synthetic shape '" + name + "' (known: " + known + ")");
}

nlohmann::json synthConfigJson(const SynthShape& s, uint64_t seed)
{
    nlohmann::json j;
    switch (s.arch) {
    case Arch::GPT2:
        j = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", s.vocab},
             {"n_embd", s.hidden}, {"n_layer", s.layers}, {"n_head", s.heads}, {"n_inner", s.intermediate},
             {"n_positions", s.maxPositions}, {"n_ctx", s.maxPositions}, {"layer_norm_epsilon", 1e-5},
             {"activation_function", "gelu_new"}, {"bos_token_id", s.vocab - 1}, {"eos_token_id", s.vocab - 1},
             {"tie_word_embeddings", true}};
        break;
    case Arch::OPT:
        j = {{"architectures", {"OPTForCausalLM"}}, {"model_type", "opt"}, {"vocab_size", s.vocab},
             {"hidden_size", s.hidden}, {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads},
             {"ffn_dim", s.intermediate}, {"max_position_embeddings", s.maxPositions}, {"do_layer_norm_before", true},
             {"word_embed_proj_dim", s.hidden}, {"activation_function", "relu"}, {"enable_bias", true},
             {"bos_token_id", 2}, {"eos_token_id", 2}, {"pad_token_id", 1}, {"tie_word_embeddings", true}};
        break;
    case Arch::Llama:
    case Arch::Mistral:
        j = {{"architectures", {s.arch == Arch::Llama ? "LlamaForCausalLM" : "MistralForCausalLM"}},
             {"model_type", archName(s.arch)}, {"vocab_size", s.vocab}, {"hidden_size", s.hidden},
             {"num_hidden_layers", s.layers}, {"num_attention_heads", s.heads}, {"num_key_value_heads", s.kvHeads},
             {"head_dim", s.hidden / s.heads}, {"intermediate_size", s.intermediate},
             {"max_position_embeddings", s.maxPositions}, {"rms_norm_eps", 1e-5}, {"rope_theta", 10000.0},
             {"hidden_act", "silu"}, {"tie_word_embeddings", s.tieEmbeddings}, {"bos_token_id", 1}, {"eos_token_id", 2}};
        if (s.arch == Arch::Mistral)
            j["sliding_window"] = s.slidingWindow > 0 ? nlohmann::json(s.slidingWindow) : nlohmann::json(nullptr);
        break;
    }
    j["torch_dtype"] = "float32";
    j["basis_studio_synthetic"] = {
        {"random_weights", true}, {"shape", s.name}, {"seed", seed},
        {"note", "RANDOM WEIGHTS written by basis-cli synth: real shapes for benchmarks and tests; its text and "
                 "perplexity are meaningless"}};
    return j;
}

void writeSyntheticCheckpoint(const SynthShape& s, const std::filesystem::path& dir, uint64_t seed,
                              const std::filesystem::path& tokenizerDir)
{
    const nlohmann::json cfgJson = synthConfigJson(s, seed);
    const ModelConfig cfg = parseModelConfig(cfgJson, "synthetic " + s.name);   // validates the shape
    const ArchTable table = archTable(cfg);
    std::filesystem::create_directories(dir);

    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    std::vector<std::pair<std::string, at::Tensor>> tensors;
    auto normal = [&](const std::string& name, std::vector<int64_t> shape, double stdev) {
        tensors.emplace_back(name, at::normal(0.0, stdev, shape, gen));
    };
    auto constant = [&](const std::string& name, std::vector<int64_t> shape, double value) {
        tensors.emplace_back(name, at::full(shape, value, at::kFloat));
    };
    // GPT-2's initialisation scale; it keeps activations in a sane range for any depth.
    const double stdev = 0.02;
    normal(table.embedTokens, {cfg.vocabSize, cfg.wordEmbedProjDim}, stdev);
    if (!table.embedPositions.empty())
        normal(table.embedPositions, {cfg.maxPositions + cfg.positionOffset, cfg.hidden}, stdev / 2);
    if (!table.lmHead.empty())
        normal(table.lmHead, {cfg.vocabSize, cfg.hidden}, stdev);
    if (!table.finalNorm.empty()) {
        constant(table.finalNorm + ".weight", {cfg.hidden}, 1.0);
        if (table.normHasBias)
            constant(table.finalNorm + ".bias", {cfg.hidden}, 0.0);
    }
    for (int64_t l = 0; l < cfg.layers; ++l) {
        for (const std::string& n : {table.attnNorm, table.mlpNorm}) {
            constant(table.layerTensor(l, n + ".weight"), {cfg.hidden}, 1.0);
            if (table.normHasBias)
                constant(table.layerTensor(l, n + ".bias"), {cfg.hidden}, 0.0);
        }
        for (const ProjectionSpec& p : table.projections) {
            std::vector<int64_t> shape = p.storedInOut ? std::vector<int64_t>{p.in, p.out} : std::vector<int64_t>{p.out, p.in};
            normal(table.layerTensor(l, p.module + ".weight"), shape, stdev);
            if (p.hasBias)
                constant(table.layerTensor(l, p.module + ".bias"), {p.out}, 0.0);
        }
    }

    std::vector<TensorToWrite> out;
    for (const auto& [name, t] : tensors)
        out.push_back({name, DType::F32, t.sizes().vec(), t.data_ptr(), static_cast<size_t>(t.nbytes())});
    writeSafetensors(dir / "model.safetensors", out, {{"format", "pt"}, {"basis_studio_synthetic", "random weights"}});
    writeFileAtomically(dir / "config.json", cfgJson.dump(2) + "\n");
    writeFileAtomically(dir / "RANDOM_WEIGHTS.txt",
                        "This checkpoint was written by basis-cli synth (shape " + s.name + ", seed " +
                            std::to_string(seed) + ").\nIts weights are RANDOM: use it for benchmarks, shapes and "
                            "learning the controls, never for quality.\n");
    if (!tokenizerDir.empty())
        copyTokenizerFiles(tokenizerDir, dir);
}

} // namespace basis
