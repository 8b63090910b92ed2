#include "compress_streamed.h"

#include "atomic_file.h"
#include "channel_order.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "factorizer_registry.h"
#include "method_registry.h"
#include "safetensors_shards.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <optional>
#include <set>

namespace basis {

namespace fs = std::filesystem;

bool compressesStreamed(const CompressionSettings& settings)
{
    const CompressionMethod& m = method(settings.method);
    return !settings.update && m.storageLayout() == "factors" && !m.featureSpace();
}

namespace {

size_t projectionIndex(const DecoderModel& model, const ProjectionSpec& spec)
{
    const auto& projections = model.table().projections;
    for (size_t i = 0; i < projections.size(); ++i)
        if (projections[i].part == spec.part)
            return i;
    throw Error("internal: unknown part " + spec.part);
}

TensorToWrite describe(const std::string& name, c10::ScalarType type, std::vector<int64_t> shape)
{
    int64_t n = 1;
    for (int64_t d : shape)
        n *= d;
    return {name, fromScalarType(type), std::move(shape), nullptr, static_cast<size_t>(n) * c10::elementSize(type)};
}

// What one tensor of the output is made of: a tensor of the model as it is, or a piece of a group's factors.
struct Source {
    enum Kind { Stored, Basis, Values, Coeff } kind = Stored;
    at::Tensor stored;
    size_t group = 0;   // index into the flat list of groups
    size_t member = 0;  // Coeff: the layer's position in its group
};

struct GroupJob {
    const ProjectionSpec* spec;   // the model's table
    const GroupPlan* plan;
};

} // namespace

CompressionResult compressIntoFolder(DecoderModel& model, const CalibrationStats* stats, const CalibrationStats* orderStats,
                                     const CompressionPlan& plan, const fs::path& out, const nlohmann::json& extra,
                                     uint64_t shardBytes, const JobContext& job)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    if (!compressesStreamed(plan.settings))
        throw Error("internal: " + plan.settings.method + (plan.settings.update ? " with the update step" : "") +
                    " is not compressed streamed");
    const CompressionMethod& m = method(plan.settings.method);
    if (m.needsStatistics() && !stats)
        throw Error(m.name() + " needs calibration statistics (--calib or --text)");
    model.setSplitFused(plan.splitFused);
    const Factorizer& factorizer = basis::factorizer(m.factorizerName());
    const bool gram = m.statistics() == MethodStatistics::InputGram;
    const ArchTable& table = model.table();
    const c10::ScalarType dtype = model.dtype();

    // The output's tensors, named as saveCompressedModel names them: the model's other tensors, every group's basis,
    // spectrum and coefficients, then the weights of what stays dense.
    std::vector<TensorToWrite> tensors;
    std::vector<Source> sources;
    auto addStored = [&](const std::string& name, const at::Tensor& t) {
        tensors.push_back(describe(name, t.scalar_type(), t.sizes().vec()));
        sources.push_back({Source::Stored, t, 0, 0});
    };
    for (const auto& [name, t] : model.otherTensors())
        addStored(name, t);
    std::vector<GroupJob> groups;
    std::set<std::pair<size_t, int64_t>> factorized;   // (projection, layer)
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        const size_t index = projectionIndex(model, *p.spec);
        const ProjectionSpec& spec = table.projections[index];
        for (size_t i = 0; i < p.groups.size(); ++i) {
            const GroupPlan& g = p.groups[i];
            const size_t id = groups.size();
            groups.push_back({&spec, &g});
            const std::string prefix = "compression." + spec.module + ".group_" + std::to_string(i);
            const int64_t columns = static_cast<int64_t>(g.layers.size()) * spec.out;
            tensors.push_back(describe(prefix + ".basis", dtype, {spec.in, g.k}));
            sources.push_back({Source::Basis, {}, id, 0});
            tensors.push_back(describe(prefix + ".singular_values", at::kDouble, {std::min(spec.in, columns)}));
            sources.push_back({Source::Values, {}, id, 0});
            for (size_t j = 0; j < g.layers.size(); ++j) {
                tensors.push_back(describe(table.layerTensor(g.layers[j], spec.module + ".coeff"), dtype, {g.k, spec.out}));
                sources.push_back({Source::Coeff, {}, id, j});
                factorized.insert({index, g.layers[j]});
            }
        }
    }
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (size_t s = 0; s < model.layer(l).slots.size(); ++s)
            if (!factorized.count({s, l}))
                addStored(table.layerTensor(l, model.layer(l).slots[s].spec().module + ".weight"), model.layer(l).slots[s].weight());

    CompressionResult result;
    result.plan = plan;
    // The group being written; its tensors are consecutive, so one group's factors are alive at a time.
    std::optional<size_t> current;
    FactorizedGroup factors;
    auto factorsOf = [&](size_t id) -> FactorizedGroup& {
        if (current == id)
            return factors;
        job.checkCancelled();
        factors = {};   // the previous group's tensors go before this group's are made
        const GroupJob& g = groups[id];
        factors = factorizeGroup(model, stats, *g.spec, *g.plan, factorizer, gram);
        orderGroupChannels(factors.basis, factors.coeffs, g.spec->site, orderStats, factors.record);
        result.groups.push_back(factors.record);
        current = id;
        job.report(static_cast<int64_t>(id) + 1, static_cast<int64_t>(groups.size()),
                   "factorizing " + g.spec->part + " layers " + std::to_string(g.plan->layers.front()) + "-" +
                       std::to_string(g.plan->layers.back()) + ", writing as it goes");
        return factors;
    };
    auto produce = [&](size_t i, const TensorBytesSink& write) {
        const Source& src = sources[i];
        at::Tensor t;
        switch (src.kind) {
        case Source::Stored: t = src.stored; break;
        case Source::Basis: t = factorsOf(src.group).basis; break;
        case Source::Values: t = factorsOf(src.group).record.singularValues; break;
        case Source::Coeff: t = factorsOf(src.group).coeffs.at(src.member); break;
        }
        t = t.to(at::kCPU).contiguous();
        if (t.sizes().vec() != tensors[i].shape || fromScalarType(t.scalar_type()) != tensors[i].dtype)
            throw Error("internal: streamed tensor " + tensors[i].name + " differs from its planned shape or dtype");
        write(t.data_ptr(), static_cast<size_t>(t.nbytes()));
    };

    writeOutputFolder(out, OutputKind::CompressedModel, {model.dir()}, [&](const fs::path& dir) {
        writeSafetensorsSharded(dir, tensors, shardBytes, produce, {{"format", "pt"}, {"basis_studio", "compressed"}});
        factors = {};
        nlohmann::json config = model.config().raw;
        config["compression"] = compressionSection(result, extra);
        writeFileAtomically(dir / "config.json", config.dump(2) + "\n");
        copyTokenizerFiles(model.dir(), dir);
        job.checkCancelled();
    }, compressedModelRules(), job.log);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace basis
