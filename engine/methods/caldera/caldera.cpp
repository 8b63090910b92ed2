#include "caldera.h"

#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace basis {

SiteWhitening siteWhitening(const at::Tensor& gram)
{
    c10::InferenceMode inference;
    at::Tensor g = gram.to(at::kCPU, at::kDouble);
    const double meanDiag = g.diagonal().mean().item<double>();
    if (!(meanDiag > 0))
        throw Error("caldera: the calibration statistics of an input are zero (no tokens reached it)");
    SiteWhitening s;
    s.h = g / meanDiag + 1e-2 * at::eye(g.size(0), g.options());
    s.h = (s.h + s.h.t()) / 2;   // symmetric to the last bit before eigh
    auto [l, v] = at::linalg_eigh(s.h);
    if (l.min().item<double>() <= 0)
        throw Error("caldera: H has a non-positive eigenvalue after adding 1e-2 I");
    s.half = at::matmul(v * l.sqrt().unsqueeze(0), v.t());
    s.invHalf = at::matmul(v * l.rsqrt().unsqueeze(0), v.t());
    return s;
}

SiteWhitening identityWhitening(int64_t d)
{
    const at::Tensor eye = at::eye(d, at::TensorOptions().dtype(at::kDouble));
    return {eye, eye, eye};
}

c10::ScalarType factorScalarType(const std::string& dtype)
{
    if (dtype == "float16")
        return at::kHalf;
    if (dtype == "bfloat16")
        return at::kBFloat16;
    if (dtype == "float32")
        return at::kFloat;
    if (dtype == "float64")
        return at::kDouble;
    throw Error("factor dtype must be float16, bfloat16 or float32, got '" + dtype + "'");
}

LowRank lowRankStep(const at::Tensor& e, const SiteWhitening& s, int64_t k, c10::ScalarType factorType)
{
    c10::InferenceMode inference;
    if (k == 0)
        return {};
    auto [p, sv, th] = at::linalg_svd(at::matmul(e, s.half), /*full_matrices=*/false);
    LowRank lr;
    lr.l = (p.narrow(1, 0, k) * sv.narrow(0, 0, k).unsqueeze(0)).to(factorType).to(at::kDouble);
    lr.r = at::matmul(th.narrow(0, 0, k), s.invHalf).to(factorType).to(at::kDouble);
    return lr;
}

double relativeHError(const at::Tensor& w, const at::Tensor& qDense, const LowRank& lr, const SiteWhitening& s)
{
    c10::InferenceMode inference;
    at::Tensor r = w - qDense;
    if (lr.l.defined())
        r = r - at::matmul(lr.l, lr.r);
    const double base = at::matmul(w, s.half).norm().item<double>();
    const double num = at::matmul(r, s.half).norm().item<double>();
    return base > 0 ? num / base : num;
}

CalderaResult caldera(const at::Tensor& w, const SiteWhitening& s, const QuantSettings& settings, int64_t k,
                      const std::function<void()>& checkCancelled)
{
    c10::InferenceMode inference;
    validateQuantSettings(settings);
    const int64_t m = w.size(0), d = w.size(1);
    if (k > std::min(m, d))
        throw Error("rank " + std::to_string(k) + " is above min(m, d) = " + std::to_string(std::min(m, d)) + " of a " +
                    std::to_string(m) + " x " + std::to_string(d) + " projection");
    const c10::ScalarType factorType = factorScalarType(settings.factorDtype);
    CalderaResult best;
    at::Tensor qDense = at::zeros_like(w);
    for (int64_t it = 0; it < settings.iters; ++it) {
        if (checkCancelled)
            checkCancelled();
        LowRank lr = lowRankStep(w - qDense, s, k, factorType);
        const at::Tensor target = lr.l.defined() ? w - at::matmul(lr.l, lr.r) : w;
        if (checkCancelled)
            checkCancelled();
        QuantizedRows q = settings.qStep == "ldlq" ? quantizeLdlq(target, s.h, settings.bits) : quantizeRtn(target, settings.bits);
        qDense = dequantizeRows(q, at::kDouble);
        const double err = relativeHError(w, qDense, lr, s);
        best.errors.push_back(err);
        if (it == 0 || err < best.errors[best.best]) {
            best.best = it;
            best.q = std::move(q);
            best.lr = std::move(lr);
        }
    }
    return best;
}

} // namespace basis
