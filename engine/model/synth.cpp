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

std::vector<SynthShape> presets()
{
    std::vector<SynthShape> real, micro;
    for (const ArchDefinition* a : architectures())
        for (const SynthShape& s : a->synthShapes)
            (s.micro ? micro : real).push_back(s);
    real.insert(real.end(), micro.begin(), micro.end());
    return real;
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
    nlohmann::json j = architecture(s.arch).synthConfig(s);
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
    // A unit gain: Gemma stores w of the gain (1 + w).
    const double normGain = cfg.rmsNormUnitOffset ? 0.0 : 1.0;
    if (!table.finalNorm.empty()) {
        constant(table.finalNorm + ".weight", {cfg.hidden}, normGain);
        if (table.normHasBias)
            constant(table.finalNorm + ".bias", {cfg.hidden}, 0.0);
    }
    for (int64_t l = 0; l < cfg.layers; ++l) {
        for (const std::string& n : {table.attnNorm, table.mlpNorm}) {
            constant(table.layerTensor(l, n + ".weight"), {cfg.hidden}, normGain);
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
