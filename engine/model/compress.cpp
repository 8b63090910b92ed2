#include "compress.h"

#include "compress_quantized.h"

#include "decoder_model.h"
#include "error.h"
#include "factorizer_registry.h"
#include "feature_space_factorize.h"
#include "method_registry.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace basis {

at::Tensor whiteningFactor(const at::Tensor& gram, double* jitter)
{
    c10::InferenceMode inference;
    at::Tensor h = gram.to(at::kDouble);
    auto [lower, info] = at::linalg_cholesky_ex(h);
    double shift = 0;
    if (info.item<int64_t>() != 0) {
        // Not positive definite (dead or collinear inputs): lift the spectrum just above zero, then retry.
        const double minEig = at::linalg_eigvalsh(h).min().item<double>();
        shift = -minEig + 7e-6;   // the published code's shift
        std::tie(lower, info) = at::linalg_cholesky_ex(h + shift * at::eye(h.size(0), h.options()));
        if (info.item<int64_t>() != 0)
            throw Error("whitening: the calibration statistics are not positive definite even after a shift of " +
                        std::to_string(shift));
    }
    if (jitter)
        *jitter = shift;
    return lower.t().contiguous();
}

at::Tensor groupWeights(const DecoderModel& model, const ProjectionSpec& spec, const std::vector<int64_t>& layers)
{
    c10::InferenceMode inference;
    // The spec's slot; or, on a model that keeps its fused projection whole (the allocators' dense model), the
    // spec's columns of the fused slot.
    const auto& projections = model.table().projections;
    size_t index = projections.size();
    bool slice = false;
    for (size_t i = 0; i < projections.size() && index == projections.size(); ++i)
        if (projections[i].part == spec.part)
            index = i;
    for (size_t i = 0; i < projections.size() && index == projections.size() && !spec.fusedModule.empty(); ++i)
        if (projections[i].module == spec.fusedModule)
            index = i, slice = true;
    if (index == projections.size())
        throw Error("internal: unknown part " + spec.part);
    std::vector<at::Tensor> parts;
    for (int64_t l : layers) {
        at::Tensor w = model.layer(l).slots.at(index).weightInOut();
        parts.push_back((slice ? w.narrow(1, spec.fusedOffset, spec.out) : w).to(at::kCPU, at::kDouble));
    }
    return at::cat(parts, 1);
}

namespace {

// H_G = sum of the group's H_l. A one-layer group's is its H_l itself, not a copy: from a cache that is a view of
// the mapped file (file-backed pages), which saves an n_in^2 float64 buffer (1 GB for LLaMA-2-7B's down_proj).
// Nothing writes into it (statistics are read-only, calibration_cache.h).
at::Tensor groupGram(const CalibrationStats& stats, const ProjectionSpec& spec, const std::vector<int64_t>& layers)
{
    at::Tensor h;
    for (int64_t l : layers) {
        const at::Tensor g = stats.at(l, spec.site);
        if (!g.defined())
            throw Error("calibration statistics lack layer " + std::to_string(l) + " input " + inputSiteName(spec.site));
        h = h.defined() ? h + g : g;
    }
    return h;
}

size_t projectionIndex(const DecoderModel& model, const ProjectionSpec& spec)
{
    const auto& projections = model.table().projections;
    for (size_t i = 0; i < projections.size(); ++i)
        if (projections[i].part == spec.part)
            return i;
    throw Error("internal: unknown part " + spec.part);
}

} // namespace

at::Tensor groupSpectrum(const DecoderModel& model, const CalibrationStats* stats, const ProjectionSpec& spec,
                         const std::vector<int64_t>& layers, bool whiten)
{
    c10::InferenceMode inference;
    at::Tensor w = groupWeights(model, spec, layers);
    if (whiten) {
        if (!stats)
            throw Error("whitened spectra need calibration statistics");
        w = at::matmul(whiteningFactor(groupGram(*stats, spec, layers)), w);
    }
    return at::linalg_svdvals(w);
}

double energyKept(const at::Tensor& s, int64_t k)
{
    at::Tensor sq = s.to(at::kDouble).pow(2);
    const double total = sq.sum().item<double>();
    if (total <= 0)
        return 1.0;
    k = std::min<int64_t>(k, s.numel());
    return sq.narrow(0, 0, k).sum().item<double>() / total;
}

FactorizedGroup factorizeGroup(const DecoderModel& model, const CalibrationStats* stats, const ProjectionSpec& spec,
                               const GroupPlan& g, const Factorizer& factorizer, bool gram)
{
    c10::InferenceMode inference;
    if (gram && !stats)
        throw Error("internal: " + spec.part + " needs the calibration statistics");
    FactorizedGroup out;
    GroupFactors f = [&] {
        at::Tensor w = groupWeights(model, spec, g.layers);   // n_in x g*n_out, freed before the factors are converted
        return factorizer.factorize(w, gram ? groupGram(*stats, spec, g.layers) : at::Tensor(), g.k);
    }();
    out.basis = f.basis.to(model.weightDevice(), model.dtype()).contiguous();
    for (size_t i = 0; i < g.layers.size(); ++i)
        out.coeffs.push_back(f.coefficients.narrow(1, static_cast<int64_t>(i) * spec.out, spec.out)
                                 .to(model.weightDevice(), model.dtype())
                                 .contiguous());
    out.record.part = spec.part;
    out.record.layers = g.layers;
    out.record.k = g.k;
    out.record.jitter = f.jitter;
    out.record.singularValues = f.singularValues;
    out.record.energy = energyKept(f.singularValues, g.k);
    return out;
}

std::vector<std::vector<at::Tensor>> snapshotDenseWeights(const DecoderModel& model)
{
    std::vector<std::vector<at::Tensor>> out(model.layerCount());
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            out[l].push_back(s.isFactorized() ? at::Tensor() : s.weightInOut());
    return out;
}

CompressionResult compressModel(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                const JobContext& job)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const CompressionMethod& method = basis::method(plan.settings.method);
    if (method.needsStatistics() && !stats)   // every layout's compression reads them
        throw Error(method.name() + " needs calibration statistics (--calib or --text)");
    model.setSplitFused(plan.splitFused);   // the parts of fused projections the setting names (Phi-3's q, k, v)
    if (method.storageLayout() == "quantized-lowrank")
        return compressQuantizedModel(model, stats, plan, job);
    if (method.featureSpace())
        return compressFeatureSpace(model, stats, plan, job);   // per-projection factors A, B and bias
    const Factorizer& factorizer = basis::factorizer(method.factorizerName());
    const bool gram = method.statistics() == MethodStatistics::InputGram;
    int64_t totalGroups = 0, done = 0;
    for (const PartPlan& p : plan.parts)
        totalGroups += static_cast<int64_t>(p.groups.size());

    CompressionResult result;
    result.plan = plan;
    // Factorize everything first, then install: a cancelled run leaves the model as it was.
    struct Pending {
        size_t projection;
        std::vector<int64_t> layers;
        at::Tensor basis;
        std::vector<at::Tensor> coeffs;
    };
    std::vector<Pending> pending;
    for (const PartPlan& part : plan.parts) {
        if (!part.compressed)
            continue;
        const size_t index = projectionIndex(model, *part.spec);
        const ProjectionSpec& spec = model.table().projections[index];
        for (const GroupPlan& g : part.groups) {
            job.checkCancelled();
            FactorizedGroup f = factorizeGroup(model, stats, spec, g, factorizer, gram);
            result.groups.push_back(std::move(f.record));
            pending.push_back({index, g.layers, std::move(f.basis), std::move(f.coeffs)});
            ++done;
            job.report(done, totalGroups, "factorizing " + spec.part + " layers " + std::to_string(g.layers.front()) + "-" +
                                              std::to_string(g.layers.back()));
        }
    }
    for (Pending& p : pending)
        for (size_t i = 0; i < p.layers.size(); ++i)
            model.slot(p.layers[i], p.projection).setFactorized(p.basis, p.coeffs[i]);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

void refitCoefficients(DecoderModel& model, const std::vector<std::vector<at::Tensor>>& dense,
                       const CalibrationStats& compressedStats, const CompressionPlan& plan, const JobContext& job)
{
    c10::InferenceMode inference;
    for (const PartPlan& part : plan.parts) {
        if (!part.compressed)
            continue;
        const size_t index = projectionIndex(model, *part.spec);
        for (const GroupPlan& g : part.groups) {
            job.checkCancelled();
            for (int64_t l : g.layers) {
                LinearSlot& slot = model.slot(l, index);
                at::Tensor b = slot.basis().to(at::kCPU, at::kDouble);
                at::Tensor h = compressedStats.at(l, part.spec->site);
                at::Tensor w = dense.at(l).at(index).to(at::kCPU, at::kDouble);
                at::Tensor hb = at::matmul(h, b);                        // H' B
                at::Tensor lhs = at::matmul(b.t(), hb);                  // B^T H' B  (k x k)
                at::Tensor rhs = at::matmul(hb.t(), w);                  // B^T H' W
                at::Tensor c = at::linalg_solve(lhs, rhs);
                slot.setFactorized(slot.basis(), c.to(model.weightDevice(), model.dtype()).contiguous());
            }
        }
    }
}

} // namespace basis
