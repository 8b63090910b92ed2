#include "compressed_io.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "error.h"
#include "feature_space_plan.h"
#include "method_registry.h"
#include "quantized_io.h"
#include "safetensors.h"
#include "safetensors_shards.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace basis {

namespace fs = std::filesystem;

namespace {

std::string basisName(const ProjectionSpec& spec, size_t group)
{
    return "compression." + spec.module + ".group_" + std::to_string(group) + ".basis";
}

// Tensors to write, kept alive (contiguous CPU copies) until the file is written.
struct TensorSet {
    std::vector<at::Tensor> keep;
    std::vector<TensorToWrite> list;
    void add(const std::string& name, const at::Tensor& t)
    {
        at::Tensor c = t.to(at::kCPU).contiguous();
        keep.push_back(c);
        list.push_back({name, fromScalarType(c.scalar_type()), c.sizes().vec(), c.data_ptr(), static_cast<size_t>(c.nbytes())});
    }
    // Sorted by name (layer by layer, as Hugging Face shards) into shards of at most shardBytes.
    void write(const fs::path& dir, uint64_t shardBytes, const std::map<std::string, std::string>& metadata)
    {
        std::vector<TensorToWrite> sorted = list;
        std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
        writeSafetensorsSharded(dir, sorted, shardBytes,
                                [&](size_t i, const TensorBytesSink& sink) { sink(sorted[i].data, sorted[i].bytes); }, metadata);
    }
};

const ProjectionSpec& specOf(const DecoderModel& model, const std::string& part)
{
    const ProjectionSpec* p = model.table().findPart(part);
    if (!p)
        throw Error("internal: unknown part " + part);
    return *p;
}

bool attentionRole(Role r) { return r == Role::Q || r == Role::K || r == Role::V || r == Role::QKV || r == Role::O; }

// sfsd gives projections without a bias a new one (b'). A dense LLaMA checkpoint carries them when its config says
// attention_bias / mlp_bias, which give every projection of the family a bias: zeros where there was none.
// Mistral's config has no such switch, so its export is refused rather than silently dropping b'.
void addNewBiases(const DecoderModel& model, TensorSet& set, nlohmann::json& config)
{
    bool attention = false, mlp = false;
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (s.bias().defined() && !s.spec().hasBias)
                (attentionRole(s.spec().role) ? attention : mlp) = true;
    if (!attention && !mlp)
        return;
    if (model.config().arch != "llama")   // only LLaMA's config.json has attention_bias / mlp_bias switches
        throw Error("export: the compressed model has biases (sfsd's b') that a dense " + model.config().arch +
                    " checkpoint cannot declare; use the compressed folder itself");
    if (attention)
        config["attention_bias"] = true;
    if (mlp)
        config["mlp_bias"] = true;
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (!s.bias().defined() && (attentionRole(s.spec().role) ? attention : mlp))
                set.add(model.table().layerTensor(l, s.spec().module + ".bias"),
                        at::zeros({s.spec().out}, at::TensorOptions().dtype(model.dtype())));
}

} // namespace

void copyTokenizerFiles(const fs::path& from, const fs::path& to)
{
    for (const char* f : {"tokenizer.model", "tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                          "special_tokens_map.json", "generation_config.json"})
        if (fs::exists(from / f)) {
            fs::copy_file(from / f, to / f, fs::copy_options::overwrite_existing);
            // Sources may be read-only (shared folders); the copy belongs to the user.
            fs::permissions(to / f, fs::perms::owner_write, fs::perm_options::add);
        }
}

nlohmann::json compressionSection(const CompressionResult& result, const nlohmann::json& extra)
{
    const CompressionPlan& plan = result.plan;
    nlohmann::json parts = nlohmann::json::object();
    const bool quantized = method(plan.settings.method).storageLayout() == "quantized-lowrank";
    size_t g = 0;
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        nlohmann::json groups = nlohmann::json::array();
        for (size_t i = 0; i < p.groups.size(); ++i, ++g) {
            nlohmann::json entry = {{"layers", p.groups[i].layers}, {"k", p.groups[i].k}};
            if (quantized) {   // quantized_io.h: the layout the loader reads from these keys
                entry["bits"] = plan.settings.quant.bits;
                entry["factor_dtype"] = plan.settings.quant.factorDtype;
                entry["layout"] = "quantized-lowrank";
                if (g < result.groups.size()) {
                    entry["iteration_errors"] = result.groups[g].iterationErrors;
                    entry["best_iteration"] = result.groups[g].bestIteration;
                }
            } else {
                entry["basis"] = basisName(*p.spec, i);
            }
            if (g < result.groups.size() && !quantized) {
                entry["energy_kept"] = result.groups[g].energy;
                entry["cholesky_shift"] = result.groups[g].jitter;
                if (!result.groups[g].channelOrder.empty()) {   // channel_order.h: prefixes are the important sets
                    entry["channel_order"] = result.groups[g].channelOrder;
                    entry["channel_importance"] = result.groups[g].channelImportance;
                    entry["channel_importance_source"] = result.groups[g].channelImportanceSource;
                }
            }
            groups.push_back(entry);
        }
        parts[p.spec->part] = {{"module", p.spec->module}, {"shared", p.shared}, {"groups", groups}};
    }
    nlohmann::json j = {{"format", "basis-studio/1"},
                        {"method", plan.settings.method},
                        {"ratio", plan.settings.ratio},
                        {"group_size", plan.settings.groupSize},
                        {"update", plan.settings.update},
                        {"shared", plan.settings.shared},
                        {"private", plan.settings.privateParts},
                        {"parts", parts},
                        {"bytes",
                         {{"element_bytes", plan.elementBytes},
                          {"target_before", plan.targetBytesBefore},
                          {"target_after", plan.targetBytesAfter},
                          {"model_before", plan.modelBytesBefore},
                          {"model_after", plan.modelBytesAfter},
                          {"bits_per_weight", plan.bitsPerWeight()},
                          {"bits_per_weight_formula", plan.bitsPerWeightFormula}}},
                        {"parameters",
                         {{"target_before", plan.targetBefore},
                          {"target_after", plan.targetAfter},
                          {"model_before", plan.modelBefore},
                          {"model_after", plan.modelAfter},
                          {"removed_percent_of_target", plan.removedPercentOfTarget()}}}};
    if (!plan.splitFused.empty())   // model_config.h: the loader addresses these fused projections as their parts
        j["split_fused"] = plan.splitFused;
    if (quantized)
        j["quant"] = {{"bits", plan.settings.quant.bits},
                      {"rank", plan.settings.quant.rank},
                      {"q_step", plan.settings.quant.qStep},
                      {"iters", plan.settings.quant.iters},
                      {"factor_dtype", plan.settings.quant.factorDtype},
                      {"group_columns", kQuantGroupColumns}};
    const FeatureSpaceSettings& f = plan.settings.featureSpace;
    if (method(plan.settings.method).featureSpace()) {
        // How the ranks were picked (each group's k is the rank after the policy and the break-even rule).
        j["feature_space"] = {{"policy", f.policy}};
        if (f.fraction)
            j["feature_space"]["fraction"] = *f.fraction;
        else if (!f.ranksFile.empty())
            j["feature_space"]["ranks_file"] = f.ranksFile.string();
        else
            j["feature_space"]["energy"] = energyFor(plan.settings.method, f);
    }
    if (!extra.is_null())
        j.update(extra);
    return j;
}

OutputRules compressedModelRules() { return {{"results.json"}}; }

void saveCompressedModel(const DecoderModel& model, const CompressionResult& result, const fs::path& out,
                         const nlohmann::json& extra, const JobContext& job, uint64_t shardBytes)
{
    c10::InferenceMode inference;
    TensorSet set;
    for (const auto& [name, t] : model.otherTensors())
        set.add(name, t);
    const ArchTable& table = model.table();
    std::map<std::pair<std::string, int64_t>, bool> factorized;
    size_t g = 0;
    for (const PartPlan& p : result.plan.parts) {
        if (!p.compressed)
            continue;
        const size_t index = static_cast<size_t>(&specOf(model, p.spec->part) - table.projections.data());
        for (size_t i = 0; i < p.groups.size(); ++i, ++g) {
            job.checkCancelled();
            const auto& layers = p.groups[i].layers;
            const LinearSlot& first = model.layer(layers.front()).slots.at(index);
            if (first.isQuantized()) {
                for (int64_t l : layers) {
                    forEachQuantizedTensor(table.layerTensor(l, p.spec->module), model.layer(l).slots.at(index).quantized(),
                                           [&](const std::string& name, const at::Tensor& t) { set.add(name, t); });
                    factorized[{p.spec->part, l}] = true;
                }
                continue;
            }
            if (!first.isFactorized())
                throw Error("save: part '" + p.spec->part + "' of layer " + std::to_string(layers.front()) + " is not compressed");
            set.add(basisName(*p.spec, i), first.basis());
            if (g < result.groups.size() && result.groups[g].singularValues.defined())
                set.add("compression." + p.spec->module + ".group_" + std::to_string(i) + ".singular_values",
                        result.groups[g].singularValues);
            for (int64_t l : layers) {
                set.add(table.layerTensor(l, p.spec->module + ".coeff"), model.layer(l).slots.at(index).coeff());
                factorized[{p.spec->part, l}] = true;
            }
        }
    }
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (!factorized.count({s.spec().part, l}))
                set.add(table.layerTensor(l, s.spec().module + ".weight"), s.weight());

    nlohmann::json config = model.config().raw;
    config["compression"] = compressionSection(result, extra);
    writeOutputFolder(out, OutputKind::CompressedModel, {model.dir()}, [&](const fs::path& dir) {
        set.write(dir, shardBytes, {{"format", "pt"}, {"basis_studio", "compressed"}});
        writeFileAtomically(dir / "config.json", config.dump(2) + "\n");
        copyTokenizerFiles(model.dir(), dir);
        job.checkCancelled();
    }, compressedModelRules(), job.log);
}

namespace {

// The dense export's tensors of layer l: W = B C_l (or the dequantized sum) under the original names and orientation,
// the parts of a split fused projection joined back into it (table order is row order), so the export has the
// architecture's own layout.
std::vector<std::pair<std::string, at::Tensor>> denseLayerTensors(const DecoderModel& model, int64_t l)
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    std::map<std::string, std::vector<at::Tensor>> fusedWeights, fusedBiases;
    std::vector<std::string> fusedOrder;
    for (const LinearSlot& s : model.layer(l).slots) {
        const bool rebuilt = s.isFactorized() || s.isQuantized();
        at::Tensor w = rebuilt ? s.weightInOut() : s.weight();
        if (rebuilt && !s.spec().storedInOut)
            w = w.t();
        const std::string& fused = s.spec().fusedModule;
        if (fused.empty()) {
            out.emplace_back(model.table().layerTensor(l, s.spec().module + ".weight"), w.to(at::kCPU).contiguous());
            continue;
        }
        if (!fusedWeights.count(fused))
            fusedOrder.push_back(fused);
        fusedWeights[fused].push_back(w);
        if (s.bias().defined())
            fusedBiases[fused].push_back(s.bias());
    }
    for (const std::string& fused : fusedOrder) {
        const ProjectionSpec* any = nullptr;
        for (const ProjectionSpec& p : model.table().projections)
            if (p.fusedModule == fused)
                any = &p;
        out.emplace_back(model.table().layerTensor(l, fused + ".weight"),
                         at::cat(fusedWeights[fused], any->storedInOut ? 1 : 0).to(at::kCPU).contiguous());
        if (!fusedBiases[fused].empty())
            out.emplace_back(model.table().layerTensor(l, fused + ".bias"), at::cat(fusedBiases[fused], 0).to(at::kCPU).contiguous());
    }
    return out;
}

} // namespace

void writeDenseFiles(const DecoderModel& model, const fs::path& dir, const JobContext& job, uint64_t shardBytes)
{
    c10::InferenceMode inference;
    TensorSet set;
    std::set<std::string> partBiases;   // written joined into their fused projection's bias
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (!s.spec().fusedModule.empty())
                partBiases.insert(model.table().layerTensor(l, s.spec().module + ".bias"));
    for (const auto& [name, t] : model.otherTensors())
        if (!partBiases.count(name))
            set.add(name, t);
    nlohmann::json config = model.config().raw;
    config.erase("compression");
    addNewBiases(model, set, config);

    // The layers' weights are rebuilt one layer at a time, twice: once for their names and shapes (the shards'
    // headers come first), once to write them, so the export never holds more than one dense layer.
    std::vector<TensorToWrite> tensors = set.list;
    std::vector<std::pair<int64_t, size_t>> layerOf(tensors.size(), {-1, 0});   // (layer, position) of layer tensors
    for (int64_t l = 0; l < model.layerCount(); ++l) {
        job.checkCancelled();
        const auto layer = denseLayerTensors(model, l);
        for (size_t j = 0; j < layer.size(); ++j) {
            const at::Tensor& t = layer[j].second;
            tensors.push_back({layer[j].first, fromScalarType(t.scalar_type()), t.sizes().vec(), nullptr, static_cast<size_t>(t.nbytes())});
            layerOf.push_back({l, j});
        }
    }
    std::optional<int64_t> cached;
    std::vector<std::pair<std::string, at::Tensor>> layer;
    fs::create_directories(dir);
    writeSafetensorsSharded(dir, tensors, shardBytes, [&](size_t i, const TensorBytesSink& sink) {
        const auto [l, j] = layerOf[i];
        if (l < 0) {
            sink(tensors[i].data, tensors[i].bytes);
            return;
        }
        if (cached != l) {
            job.checkCancelled();
            layer.clear();
            layer = denseLayerTensors(model, l);
            cached = l;
            job.report(l + 1, model.layerCount(), "writing dense layer " + std::to_string(l + 1));
        }
        const at::Tensor& t = layer.at(j).second;
        if (layer[j].first != tensors[i].name || static_cast<size_t>(t.nbytes()) != tensors[i].bytes)
            throw Error("internal: dense layer " + std::to_string(l) + " changed between its two passes");
        sink(t.data_ptr(), static_cast<size_t>(t.nbytes()));
    }, {{"format", "pt"}});
    layer.clear();
    writeFileAtomically(dir / "config.json", config.dump(2) + "\n");
    copyTokenizerFiles(model.dir(), dir);
    job.checkCancelled();
}

void exportDense(const DecoderModel& model, const fs::path& out, const JobContext& job, uint64_t shardBytes)
{
    writeOutputFolder(out, OutputKind::DenseModel, {model.dir()}, [&](const fs::path& dir) {
        writeDenseFiles(model, dir, job, shardBytes);
    }, {}, job.log);
}

} // namespace basis
