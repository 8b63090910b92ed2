#include "feature_space_factorize.h"

#include "decoder_model.h"
#include "error.h"
#include "method_registry.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>

namespace basis {

namespace {

// Eigenpairs of W S W^T (m x m), descending, negative eigenvalues clamped to 0, the first min(m, d) kept: its rank
// is at most min(m, d), so the rest are rounding noise that would otherwise count toward the energy (and give
// ranks above min(m, d) at e = 1).
std::pair<at::Tensor, at::Tensor> outputEigh(const at::Tensor& w, const at::Tensor& s)
{
    const at::Tensor y = at::matmul(at::matmul(w, s), w.t());
    auto [values, vectors] = at::linalg_eigh((y + y.t()) * 0.5);   // symmetrised: rounding leaves it a hair off
    const int64_t q = std::min(w.size(0), w.size(1));
    return {values.flip(0).clamp_min(0.0).narrow(0, 0, q).contiguous(), vectors.flip(1).narrow(1, 0, q).contiguous()};
}

at::Tensor toDouble(const at::Tensor& t) { return t.defined() ? t.to(at::kCPU, at::kDouble) : t; }

} // namespace

int64_t ProjectionDecomposition::energyRank(double e) const
{
    const at::Tensor cumulative = spectrum.cumsum(0);
    const double total = cumulative[-1].item<double>();
    if (total <= 0)
        return 1;
    const auto* c = cumulative.data_ptr<double>();
    const int64_t n = cumulative.numel();
    for (int64_t r = 1; r <= n; ++r)
        if (c[r - 1] / total >= e)
            return r;
    return n;
}

double ProjectionDecomposition::energy(int64_t r) const
{
    const double total = spectrum.sum().item<double>();
    if (total <= 0)
        return 1.0;
    return spectrum.narrow(0, 0, std::min<int64_t>(r, spectrum.numel())).sum().item<double>() / total;
}

ProjectionFactors ProjectionDecomposition::factors(int64_t r) const
{
    c10::InferenceMode inference;
    if (r < 1 || r > left.size(1))
        throw Error(method + ": rank " + std::to_string(r) + " outside 1.." + std::to_string(left.size(1)));
    ProjectionFactors f;
    const at::Tensor ar = left.narrow(1, 0, r).contiguous();
    f.a = ar;
    f.b = right.defined() ? right.narrow(0, 0, r).contiguous() : at::matmul(ar.t(), w);
    f.bias = bias;
    if (method == "sfsd") {
        // b' = b + (I - V_r V_r^T) mu_y: the output mean on the calibration data is kept exactly.
        const at::Tensor correction = meanOut - at::matmul(ar, at::matmul(ar.t(), meanOut));
        f.bias = bias.defined() ? bias + correction : correction;
    }
    return f;
}

ProjectionDecomposition decomposeProjection(const std::string& method, const at::Tensor& w0, const at::Tensor& bias,
                                            const at::Tensor& gram, const at::Tensor& mean, int64_t tokens)
{
    c10::InferenceMode inference;
    ProjectionDecomposition p;
    p.method = method;
    p.w = toDouble(w0);
    p.bias = toDouble(bias);
    auto needGram = [&] {
        if (!gram.defined())
            throw Error(method + " needs the calibration statistics (G at the projection's input)");
        return toDouble(gram);
    };
    if (method == "utilized" || method == "hybrid") {
        const at::Tensor g = needGram();
        auto [values, vectors] = outputEigh(p.w, g);   // G_y = W G W^T
        p.spectrum = values;
        p.left = vectors;
        if (method == "hybrid") {
            auto [u, s, vh] = at::linalg_svd(p.w, /*full_matrices=*/false);
            p.left = u;
            p.right = s.unsqueeze(1) * vh;
        }
    } else if (method == "weight-svd") {
        auto [u, s, vh] = at::linalg_svd(p.w, /*full_matrices=*/false);
        p.spectrum = s * s;
        p.left = u;
        p.right = s.unsqueeze(1) * vh;
    } else if (method == "sfsd") {
        auto [values, vectors] = outputEigh(p.w, inputCovariance(method, needGram(), mean, tokens));   // C_y = W C_x W^T
        p.spectrum = values;
        p.left = vectors;
        p.meanOut = at::matmul(p.w, toDouble(mean));
    } else {
        throw Error("internal: " + method + " is not a feature-space method");
    }
    return p;
}

at::Tensor inputCovariance(const std::string& method, const at::Tensor& gram, const at::Tensor& mean, int64_t tokens)
{
    c10::InferenceMode inference;
    const at::Tensor g = toDouble(gram);
    if (method != "sfsd")
        return g;
    if (!mean.defined() || tokens <= 0)
        throw Error("sfsd needs the input mean mu_x = s / N of the calibration (recalibrate an older cache)");
    const at::Tensor mu = toDouble(mean);
    return g / static_cast<double>(tokens) - at::outer(mu, mu);   // C_x = G / N - mu mu^T
}

at::Tensor inputSpectrum(const std::string& method, const DecoderModel& model, int64_t layer, size_t projection,
                         const CalibrationStats* stats)
{
    c10::InferenceMode inference;
    if (!stats)
        return {};
    const LinearSlot& slot = model.layer(layer).slots.at(projection);
    const at::Tensor gram = stats->at(layer, slot.spec().site);
    if (!gram.defined())
        throw Error("calibration statistics lack layer " + std::to_string(layer) + " input " +
                    inputSiteName(slot.spec().site));
    at::Tensor mean;
    int64_t tokens = 0;
    if (method == "sfsd") {
        mean = stats->mean(layer, slot.spec().site);
        tokens = stats->count.at(layer).at(static_cast<size_t>(slot.spec().site));
    }
    const at::Tensor c = inputCovariance(method, gram, mean, tokens);
    return at::linalg_eigvalsh((c + c.t()) * 0.5).flip(0).clamp_min(0.0).contiguous();
}

ProjectionDecomposition decomposeSlot(const std::string& method, const DecoderModel& model, int64_t layer,
                                      size_t projection, const CalibrationStats* stats)
{
    c10::InferenceMode inference;
    const LinearSlot& slot = model.layer(layer).slots.at(projection);
    if (slot.isFactorized())
        throw Error("internal: " + slot.spec().part + " of layer " + std::to_string(layer) + " is already factorized");
    const at::Tensor w = slot.weightInOut().t();   // m x d
    at::Tensor gram, mean;
    int64_t tokens = 0;
    if (method != "weight-svd") {
        if (!stats)
            throw Error(method + " needs calibration statistics: calibrate first");
        gram = stats->at(layer, slot.spec().site);
        if (!gram.defined())
            throw Error("calibration statistics lack layer " + std::to_string(layer) + " input " +
                        inputSiteName(slot.spec().site));
        if (method == "sfsd") {
            mean = stats->mean(layer, slot.spec().site);
            tokens = stats->count.at(layer).at(static_cast<size_t>(slot.spec().site));
        }
    }
    return decomposeProjection(method, w, slot.bias(), gram, mean, tokens);
}

CompressionSettings resolveFeatureSpaceRanks(const DecoderModel& model, const CalibrationStats* stats,
                                             const CompressionSettings& settings, const JobContext& job)
{
    c10::InferenceMode inference;
    CompressionSettings s = settings;
    FeatureSpaceSettings& f = s.featureSpace;
    validateFeatureSpace(s.method, f);
    if (s.budget != 0)   // an exact budget's ranks (feature_space_plan.h), the planner's too
        return featureSpaceBudgetRanks(model.config(), model.table(), s);
    if (!f.ranks.empty() || f.fraction)
        return s;
    if (!f.ranksFile.empty()) {
        f.ranks = readRanksFile(f.ranksFile, model.config(), model.table());
        return s;
    }
    const double e = energyFor(s.method, f);
    const std::vector<const ProjectionSpec*> targets = featureSpaceTargets(model.table(), s);
    const int64_t total = model.layerCount() * static_cast<int64_t>(targets.size());
    int64_t done = 0;
    for (const ProjectionSpec* spec : targets) {
        const size_t index = static_cast<size_t>(spec - model.table().projections.data());
        std::vector<int64_t> ranks;
        for (int64_t l = 0; l < model.layerCount(); ++l) {
            job.checkCancelled();
            ranks.push_back(decomposeSlot(s.method, model, l, index, stats).energyRank(e));
            job.report(++done, total, "ranks by energy: " + spec->part + " layer " + std::to_string(l));
        }
        f.ranks[spec->part] = ranks;
    }
    return s;
}

void installFactors(DecoderModel& model, int64_t layer, size_t projection, const ProjectionFactors& f)
{
    LinearSlot& slot = model.slot(layer, projection);
    auto put = [&](const at::Tensor& t) { return t.to(model.weightDevice(), model.dtype()).contiguous(); };
    slot.setFactorized(put(f.b.t()), put(f.a.t()));
    if (f.bias.defined())
        slot.setBias(put(f.bias));
}

CompressionResult compressFeatureSpace(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                       const JobContext& job)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const std::string& method = plan.settings.method;
    int64_t total = 0, done = 0;
    for (const PartPlan& p : plan.parts)
        total += static_cast<int64_t>(p.groups.size());
    CompressionResult result;
    result.plan = plan;
    // Factorize everything first, then install: a cancelled or failed run leaves the model as it was.
    struct Pending {
        int64_t layer;
        size_t projection;
        ProjectionFactors factors;
    };
    std::vector<Pending> pending;
    for (const PartPlan& part : plan.parts) {
        const size_t index = static_cast<size_t>(model.table().findPart(part.spec->part) - model.table().projections.data());
        for (const GroupPlan& g : part.groups) {
            job.checkCancelled();
            const int64_t l = g.layers.front();
            const ProjectionDecomposition d = decomposeSlot(method, model, l, index, stats);
            GroupResult gr;
            gr.part = part.spec->part;
            gr.layers = g.layers;
            gr.k = g.k;
            gr.energy = d.energy(g.k);
            gr.singularValues = d.spectrum.sqrt();   // energyKept squares them back
            result.groups.push_back(std::move(gr));
            pending.push_back({l, index, d.factors(g.k)});
            job.report(++done, total, "factorizing " + part.spec->part + " layer " + std::to_string(l));
        }
    }
    for (const Pending& p : pending)
        installFactors(model, p.layer, p.projection, p.factors);
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace basis
