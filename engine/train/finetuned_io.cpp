#include "finetuned_io.h"

#include "atomic_file.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "output_folder.h"
#include "safetensors.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <set>

namespace basis {

namespace fs = std::filesystem;

void saveFinetunedModel(const DecoderModel& model, const nlohmann::json& compression, const fs::path& out,
                        const nlohmann::json& record, const JobContext& job, uint64_t shardBytes)
{
    c10::InferenceMode inference;
    std::vector<std::pair<std::string, at::Tensor>> sources;   // the model's own tensors: no copies yet
    auto add = [&](const std::string& name, const at::Tensor& t) { sources.emplace_back(name, t); };
    for (const auto& [name, t] : model.otherTensors())
        add(name, t);
    const ArchTable& table = model.table();
    std::set<std::pair<std::string, int64_t>> factorized;
    const bool compressed = compression.is_object();
    if (compressed) {
        for (auto it = compression.at("parts").begin(); it != compression.at("parts").end(); ++it) {
            const ProjectionSpec* spec = table.findPart(it.key());
            if (!spec)
                throw Error("save: unknown part '" + it.key() + "' in the compression section");
            const size_t index = static_cast<size_t>(spec - table.projections.data());
            for (const auto& g : it.value().at("groups")) {
                job.checkCancelled();
                const auto layers = g.at("layers").get<std::vector<int64_t>>();
                const LinearSlot& first = model.layer(layers.front()).slots.at(index);
                if (!first.isFactorized())
                    throw Error("save: part '" + it.key() + "' of layer " + std::to_string(layers.front()) + " is not factorized");
                add(g.at("basis").get<std::string>(), first.basis());
                for (int64_t l : layers) {
                    add(table.layerTensor(l, spec->module + ".coeff"), model.layer(l).slots.at(index).coeff());
                    factorized.insert({spec->part, l});
                }
            }
        }
    }
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (!factorized.count({s.spec().part, l})) {
                if (s.isFactorized())
                    throw Error("save: " + table.layerTensor(l, s.spec().module) + " is factorized but not in the compression section");
                add(table.layerTensor(l, s.spec().module + ".weight"), s.weight());
            }

    nlohmann::json config = model.config().raw;
    nlohmann::json entry = record;
    if (config.contains("finetune"))
        entry["previous"] = config.at("finetune");
    config["finetune"] = entry;
    if (compressed)
        config["compression"] = compression;
    else
        config.erase("compression");
    const OutputKind kind = compressed ? OutputKind::CompressedModel : OutputKind::DenseModel;
    // Sorted by name (layer by layer, as Hugging Face shards); stored in float32, the dtype the model was read in,
    // whatever precision it trained in.
    std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<TensorToWrite> list;
    for (const auto& [name, t] : sources)
        list.push_back({name, DType::F32, t.sizes().vec(), nullptr, static_cast<size_t>(t.numel()) * sizeof(float)});
    writeOutputFolder(out, kind, {model.dir()}, [&](const fs::path& dir) {
        writeSafetensorsSharded(dir, list, shardBytes, [&](size_t i, const TensorBytesSink& sink) {
            job.checkCancelled();
            const at::Tensor c = sources[i].second.detach().to(at::kCPU, at::kFloat).contiguous();
            sink(c.data_ptr(), static_cast<size_t>(c.nbytes()));
        }, compressed ? std::map<std::string, std::string>{{"format", "pt"}, {"basis_studio", "compressed"}}
                      : std::map<std::string, std::string>{{"format", "pt"}});
        writeFileAtomically(dir / "config.json", config.dump(2) + "\n");
        copyTokenizerFiles(model.dir(), dir);
        job.checkCancelled();
    }, compressed ? compressedModelRules() : OutputRules{}, job.log);
}

} // namespace basis
