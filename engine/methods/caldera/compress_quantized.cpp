#include "compress_quantized.h"

#include "caldera.h"
#include "decoder_model.h"
#include "error.h"
#include "method_registry.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <map>

namespace basis {

CompressionResult compressQuantizedModel(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                         const JobContext& job)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const QuantSettings& settings = plan.settings.quant;
    const auto& projections = model.table().projections;
    int64_t total = 0, done = 0;
    for (const PartPlan& p : plan.parts)
        if (p.compressed)
            total += static_cast<int64_t>(p.groups.size());

    CompressionResult result;
    result.plan = plan;
    struct Pending {
        int64_t layer;
        size_t projection;
        QuantizedWeight q;
    };
    std::vector<Pending> pending;   // installed at the end: a cancelled run leaves the model as it was
    const c10::ScalarType factorType = factorScalarType(settings.factorDtype);
    for (int64_t l = 0; l < model.layerCount(); ++l) {
        std::map<InputSite, SiteWhitening> sites;   // one eigendecomposition per input site of this layer
        for (const PartPlan& part : plan.parts) {
            if (!part.compressed)
                continue;
            // The plan's specs may point into another copy's table: find the part by name.
            const ProjectionSpec* own = model.table().findPart(part.spec->part);
            if (!own)
                throw Error("internal: unknown part " + part.spec->part);
            const size_t index = static_cast<size_t>(own - projections.data());
            const ProjectionSpec& spec = projections.at(index);
            const GroupPlan* group = nullptr;
            for (const GroupPlan& g : part.groups)
                if (g.layers.size() == 1 && g.layers.front() == l)
                    group = &g;
            if (!group)
                throw Error("internal: the plan of " + spec.part + " has no group of layer " + std::to_string(l));
            job.checkCancelled();
            auto site = sites.find(spec.site);
            if (site == sites.end()) {
                if (stats) {
                    const at::Tensor& g = stats->at(l, spec.site);
                    if (!g.defined())
                        throw Error("calibration statistics lack layer " + std::to_string(l) + " input " +
                                    inputSiteName(spec.site));
                    site = sites.emplace(spec.site, siteWhitening(g)).first;
                } else {
                    site = sites.emplace(spec.site, identityWhitening(spec.in)).first;
                }
            }
            // W as m x d (out x in), float64.
            const at::Tensor w = model.layer(l).slots.at(index).weightInOut().to(at::kCPU, at::kDouble).t().contiguous();
            CalderaResult c = caldera(w, site->second, settings, group->k, [&] { job.checkCancelled(); });
            QuantizedWeight q;
            q.bits = c.q.bits;
            q.packed = packCodes(c.q.codes, c.q.bits);
            q.scales = c.q.scales.contiguous();
            q.zeros = c.q.zeros.contiguous();
            if (group->k > 0) {
                q.lowL = c.lr.l.to(factorType).contiguous();
                q.lowR = c.lr.r.to(factorType).contiguous();
            }
            GroupResult gr;
            gr.part = spec.part;
            gr.layers = {l};
            gr.k = group->k;
            gr.iterationErrors = c.errors;
            gr.bestIteration = c.best;
            gr.energy = 1.0 - c.errors.at(static_cast<size_t>(c.best)) * c.errors.at(static_cast<size_t>(c.best));
            result.groups.push_back(std::move(gr));
            pending.push_back({l, index, std::move(q)});
            ++done;
            job.report(done, total, "quantizing " + spec.part + " layer " + std::to_string(l) + " (err " +
                                        std::to_string(c.errors.at(static_cast<size_t>(c.best))) + ")");
        }
    }
    for (Pending& p : pending)
        model.slot(p.layer, p.projection).setQuantized(std::move(p.q), model.weightDevice(), model.dtype());
    // The plan's groups are per part; the results in the same order (part, then layer) as compressionSection reads.
    std::stable_sort(result.groups.begin(), result.groups.end(), [&](const GroupResult& a, const GroupResult& b) {
        const ProjectionSpec* pa = model.table().findPart(a.part);
        const ProjectionSpec* pb = model.table().findPart(b.part);
        return pa < pb;
    });
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace basis
