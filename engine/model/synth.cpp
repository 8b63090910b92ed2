#include "synth.h"

#include "architecture.h"
#include "atomic_file.h"
#include "compressed_io.h"
#include "error.h"
#include "safetensors.h"
#include "weights.h"

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
                              const std::filesystem::path& tokenizerDir, DType dtype)
{
    if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16)
        throw Error("synth: dtype " + dtypeName(dtype) + " is not a weight dtype (expected float32, bfloat16 or float16)");
    nlohmann::json cfgJson = synthConfigJson(s, seed);
    cfgJson["torch_dtype"] = dtype == DType::F32 ? "float32" : dtype == DType::BF16 ? "bfloat16" : "float16";
    const ModelConfig cfg = parseModelConfig(cfgJson, "synthetic " + s.name);   // validates the shape
    const ArchTable table = archTable(cfg);
    std::filesystem::create_directories(dir);

    // Each tensor is drawn when the writer reaches it, in this order (the generator's order, so a seed gives the
    // same values whatever the dtype), and freed once written: a 7B file needs one tensor in memory, not 27 GB.
    struct Entry {
        std::string name;
        std::vector<int64_t> shape;
        double stdev = 0.0;   // > 0: normal(0, stdev); else the constant `value`
        double value = 0.0;
    };
    std::vector<Entry> entries;
    auto normal = [&](const std::string& name, std::vector<int64_t> shape, double stdev) {
        entries.push_back({name, std::move(shape), stdev, 0.0});
    };
    auto constant = [&](const std::string& name, std::vector<int64_t> shape, double value) {
        entries.push_back({name, std::move(shape), 0.0, value});
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
    for (const Entry& e : entries) {
        int64_t n = 1;
        for (int64_t d : e.shape)
            n *= d;
        out.push_back({e.name, dtype, e.shape, nullptr, static_cast<size_t>(n) * dtypeSize(dtype)});
    }
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
    writeSafetensorsStreamed(
        dir / "model.safetensors", out,
        [&](size_t i, const TensorBytesSink& write) {
            const Entry& e = entries[i];
            at::Tensor t = e.stdev > 0 ? at::normal(0.0, e.stdev, e.shape, gen) : at::full(e.shape, e.value, at::kFloat);
            t = t.to(toScalarType(dtype)).contiguous();
            write(t.data_ptr(), static_cast<size_t>(t.nbytes()));
        },
        {{"format", "pt"}, {"basis_studio_synthetic", "random weights"}});
    writeFileAtomically(dir / "config.json", cfgJson.dump(2) + "\n");
    writeFileAtomically(dir / "RANDOM_WEIGHTS.txt",
                        "This checkpoint was written by basis-cli synth (shape " + s.name + ", seed " +
                            std::to_string(seed) + ", " + dtypeName(dtype) + ").\nIts weights are RANDOM: use it for "
                            "benchmarks, shapes and learning the controls, never for quality.\n");
    if (!tokenizerDir.empty())
        copyTokenizerFiles(tokenizerDir, dir);
}

} // namespace basis
