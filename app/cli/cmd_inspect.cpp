// basis-cli inspect: what a checkpoint holds, from config.json and the safetensors headers (no weights read).
#include "commands.h"

#include "architecture.h"
#include "compression_plan.h"
#include "decoder_model.h"
#include "method_registry.h"
#include "calibration_cache.h"
#include "spectra.h"
#include "model_config.h"
#include "param_count.h"
#include "safetensors.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>

namespace basis::cli {

int runInspect(const InspectArgs& a)
{
    const std::filesystem::path dir(a.model);
    const ModelConfig c = parseModelConfig(dir / "config.json");
    const ArchTable t = archTable(c);
    const Checkpoint ckpt = Checkpoint::open(dir);
    DecoderModel::checkHeaders(dir);   // missing or mis-shaped tensors are errors, not a report
    const DenseCounts counts = denseParameterCounts(c, t);
    std::set<std::string> dtypes;
    for (const auto& name : ckpt.names())
        dtypes.insert(dtypeName(ckpt.tensor(name).dtype));
    std::string dtypeList;
    for (const auto& d : dtypes)
        dtypeList += (dtypeList.empty() ? "" : ",") + d;

    // Bytes as stored, per part: every tensor of a projection of any layer (weight, bias, coefficients, packed codes,
    // scales, low-rank factors) and its group bases; the rest (embeddings, norms, head) as "other".
    std::map<std::string, int64_t> partBytes;
    int64_t totalBytes = 0, otherBytes = 0;
    for (const auto& name : ckpt.names()) {
        const int64_t bytes = static_cast<int64_t>(ckpt.tensor(name).bytes);
        totalBytes += bytes;
        std::string owner;
        for (const ProjectionSpec& p : t.projections) {
            if (name.rfind("compression." + p.module + ".", 0) == 0)
                owner = p.part;
            for (int64_t l = 0; l < c.layers && owner.empty(); ++l)
                if (name.rfind(t.layerTensor(l, p.module) + ".", 0) == 0)
                    owner = p.part;
            if (!owner.empty())
                break;
        }
        if (owner.empty())
            otherBytes += bytes;
        else
            partBytes[owner] += bytes;
    }
    nlohmann::json bytesJson = {{"other", otherBytes}, {"total", totalBytes}, {"parts", partBytes}};

    nlohmann::json projections = nlohmann::json::array();
    for (const ProjectionCount& p : counts.perLayer)
        projections.push_back({{"part", p.spec->part}, {"module", p.spec->module}, {"in", p.spec->in},
                               {"out", p.spec->out}, {"site", inputSiteName(p.spec->site)}, {"weights", p.weights},
                               {"bias", p.bias}, {"parameters", p.weights + p.bias}});
    nlohmann::json j = {
        {"model", dir.string()}, {"architecture", c.arch}, {"layers", c.layers}, {"hidden", c.hidden},
        {"heads", c.heads}, {"kv_heads", c.kvHeads}, {"head_dim", c.headDim}, {"intermediate", c.intermediate},
        {"vocab", c.vocabSize}, {"max_positions", c.maxPositions}, {"tied_embeddings", t.lmHead.empty()},
        {"dtype", dtypeList}, {"projections_per_layer", projections}, {"bytes", bytesJson},
        {"parameters",
         {{"projections", counts.projections}, {"projections_per_layer", counts.projectionsPerLayer},
          {"norms", counts.normsPerLayer * c.layers + counts.finalNorm}, {"embeddings", counts.embeddings},
          {"positions", counts.positions}, {"lm_head", counts.lmHead}, {"total", counts.total}}}};
    const bool synthetic = c.raw.contains("basis_studio_synthetic");
    j["random_weights"] = synthetic;
    // A compressed folder: report what it holds, from its config's compression section.
    if (c.raw.contains("compression")) {
        const auto& comp = c.raw.at("compression");
        j["compressed"] = comp;
    }
    std::unique_ptr<CompressionPlan> plan;
    std::vector<double> energy;   // per compressed group, in plan order, when spectra are at hand
    const bool quantizing = method(a.method).storageLayout() == "quantized-lowrank";
    if (a.ratio > 0 || quantizing) {
        CompressionSettings s;
        s.method = method(a.method).name();
        s.quant = a.quant;
        if (quantizing && a.ratio <= 0)
            s.ratio = CompressionSettings{}.ratio;   // not read by the quantizing methods
        s.ratio = a.ratio;
        s.groupSize = a.groupSize;
        s.shared = a.share;
        s.privateParts = a.privateParts;
        // The plan's dense bytes at the checkpoint's element size (bfloat16 files count 2 bytes a weight).
        const int64_t element = dtypes.count("F32") ? 4 : 2;
        plan = std::make_unique<CompressionPlan>(planCompression(c, t, s, element));
        if (!a.calib.empty())
            energy = loadCachedSpectra(a.calib).energyKept(*plan);
        nlohmann::json parts = nlohmann::json::array();
        size_t energyIndex = 0;
        for (const PartPlan& p : plan->parts) {
            nlohmann::json groups = nlohmann::json::array();
            for (const GroupPlan& g : p.groups) {
                groups.push_back({{"layers", g.layers}, {"k", g.k}, {"before", g.weightsBefore}, {"after", g.weightsAfter},
                                  {"bytes_before", g.bytesBefore}, {"bytes_after", g.bytesAfter}});
                if (!energy.empty())
                    groups.back()["energy_kept"] = energy[energyIndex++];
            }
            parts.push_back({{"part", p.spec->part}, {"shared", p.shared}, {"compressed", p.compressed},
                             {"before", p.weightsBefore}, {"after", p.weightsAfter}, {"bytes_before", p.bytesBefore},
                             {"bytes_after", p.bytesAfter}, {"groups", groups}});
        }
        j["compression"] = {{"method", s.method}, {"ratio", s.ratio}, {"group_size", plan->settings.groupSize},
                            {"parts", parts}, {"target_before", plan->targetBefore}, {"target_after", plan->targetAfter},
                            {"model_before", plan->modelBefore}, {"model_after", plan->modelAfter},
                            {"removed_percent_of_target", plan->removedPercentOfTarget()},
                            {"removed_percent_of_model", plan->removedPercentOfModel()},
                            {"target_bytes_before", plan->targetBytesBefore}, {"target_bytes_after", plan->targetBytesAfter},
                            {"model_bytes_before", plan->modelBytesBefore}, {"model_bytes_after", plan->modelBytesAfter},
                            {"bits_per_weight", plan->bitsPerWeight()},
                            {"bits_per_weight_formula", plan->bitsPerWeightFormula}};
        if (quantizing)
            j["compression"]["quant"] = {{"bits", plan->settings.quant.bits}, {"rank", plan->settings.quant.rank},
                                         {"factor_dtype", plan->settings.quant.factorDtype}};
    }
    if (a.json) {
        std::cout << j.dump() << std::endl;
        return 0;
    }
    std::printf("%s: %s, %lld layers, hidden %lld, %lld heads (%lld key/value), head_dim %lld, MLP %lld, vocab %lld, "
                "%lld positions, %s embeddings, weights %s\n",
                dir.string().c_str(), c.arch.c_str(), (long long)c.layers, (long long)c.hidden,
                (long long)c.heads, (long long)c.kvHeads, (long long)c.headDim, (long long)c.intermediate,
                (long long)c.vocabSize, (long long)c.maxPositions, t.lmHead.empty() ? "tied" : "untied", dtypeList.c_str());
    if (synthetic)
        std::printf("NOTE: synthetic checkpoint with RANDOM weights (basis-cli synth)\n");
    std::printf("\nProjections of each layer (y = x W, W is in x out):\n");
    std::printf("  %-14s %-22s %-9s %8s %8s %12s\n", "part", "module", "input", "in", "out", "parameters");
    for (const ProjectionCount& p : counts.perLayer)
        std::printf("  %-14s %-22s %-9s %8lld %8lld %12lld\n", p.spec->part.c_str(), p.spec->module.c_str(),
                    inputSiteName(p.spec->site).c_str(), (long long)p.spec->in, (long long)p.spec->out,
                    (long long)(p.weights + p.bias));
    std::printf("\nParameters:\n");
    std::printf("  projections   %14lld  (%lld per layer x %lld layers)\n", (long long)counts.projections,
                (long long)counts.projectionsPerLayer, (long long)c.layers);
    std::printf("  norms         %14lld\n", (long long)(counts.normsPerLayer * c.layers + counts.finalNorm));
    std::printf("  embeddings    %14lld\n", (long long)counts.embeddings);
    if (counts.positions)
        std::printf("  positions     %14lld\n", (long long)counts.positions);
    std::printf("  lm_head       %14lld%s\n", (long long)counts.lmHead, counts.lmHead ? "" : "  (tied to the embedding)");
    std::printf("  total         %14lld\n", (long long)counts.total);
    std::printf("\nBytes as stored (model.safetensors):\n");
    for (const ProjectionSpec& p : t.projections)
        std::printf("  %-14s %14lld\n", p.part.c_str(), (long long)(partBytes.count(p.part) ? partBytes.at(p.part) : 0));
    std::printf("  other         %14lld  (embeddings, norms, head)\n", (long long)otherBytes);
    std::printf("  total         %14lld\n", (long long)totalBytes);
    if (c.raw.contains("compression")) {
        const auto& comp = c.raw.at("compression");
        if (comp.contains("bytes"))
            std::printf("\nCOMPRESSED bytes as stored: model %s -> %s, %s bits per weight of the compressed projections\n",
                        comp.at("bytes").at("model_before").dump().c_str(), comp.at("bytes").at("model_after").dump().c_str(),
                        comp.at("bytes").at("bits_per_weight").dump().c_str());
        std::printf("\nCOMPRESSED: %s, ratio %s%%, group size %s%s; parameters %s -> %s\n",
                    comp.value("method", "?").c_str(), comp.at("ratio").dump().c_str(), comp.at("group_size").dump().c_str(),
                    comp.value("update", false) ? ", updated" : "",
                    comp.at("parameters").at("model_before").dump().c_str(), comp.at("parameters").at("model_after").dump().c_str());
        for (auto it = comp.at("parts").begin(); it != comp.at("parts").end(); ++it) {
            std::string k;
            for (const auto& g : it.value().at("groups"))
                k += (k.empty() ? "" : ",") + g.at("k").dump();
            std::printf("  %-14s %-8s k = %s\n", it.key().c_str(), it.value().value("shared", false) ? "shared" : "private",
                        k.c_str());
        }
    }
    if (plan) {
        size_t energyIndex = 0;
        std::printf("\n%s at %.2f%%, group size %lld (k = floor((1 - r/100) n_in n_out g / (n_in + g n_out))):\n",
                    plan->settings.method.c_str(), plan->settings.ratio, (long long)plan->settings.groupSize);
        for (const PartPlan& p : plan->parts) {
            std::string k;
            for (const GroupPlan& g : p.groups)
                k += (k.empty() ? "" : ",") + std::to_string(g.k);
            std::string kept;
            for (size_t i = 0; p.compressed && !energy.empty() && i < p.groups.size(); ++i) {
                char buf[32];
                std::snprintf(buf, sizeof buf, "%s%.1f%%", kept.empty() ? "" : ",", 100 * energy[energyIndex++]);
                kept += buf;
            }
            std::printf("  %-14s %-8s %12lld -> %12lld  bytes %12lld -> %12lld  k = %s%s%s\n", p.spec->part.c_str(),
                        !p.compressed ? "dense" : p.shared ? "shared" : "private", (long long)p.weightsBefore,
                        (long long)p.weightsAfter, (long long)p.bytesBefore, (long long)p.bytesAfter,
                        p.compressed ? k.c_str() : "-", kept.empty() ? "" : "  energy kept ", kept.c_str());
        }
        std::printf("  target projections %lld -> %lld (%.2f%% removed); model %lld -> %lld (%.2f%% removed)\n",
                    (long long)plan->targetBefore, (long long)plan->targetAfter, plan->removedPercentOfTarget(),
                    (long long)plan->modelBefore, (long long)plan->modelAfter, plan->removedPercentOfModel());
        std::printf("  bytes as stored: target %lld -> %lld, model %lld -> %lld; %.4f bits per weight (formula %.4f)\n",
                    (long long)plan->targetBytesBefore, (long long)plan->targetBytesAfter,
                    (long long)plan->modelBytesBefore, (long long)plan->modelBytesAfter, plan->bitsPerWeight(),
                    plan->bitsPerWeightFormula);
    }
    return 0;
}

} // namespace basis::cli
