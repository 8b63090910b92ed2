#pragma once
// CALDERA / LPLR-Q as issue 14 defines it: W (m x d) ~ Q + L R, alternating a low-rank step fitted in the H-norm
// and a Q step (rtn or ldlq), keeping the iterate with the smallest relative H-error. float64 on the CPU.
#include "group_quantizer.h"
#include "quant_settings.h"

#include <ATen/core/Tensor.h>

#include <functional>
#include <vector>

namespace basis {

// One input site's H and its square roots, from one eigendecomposition: H = G / mean(diag G) + 1e-2 I (G / N
// normalised by its mean diagonal: N cancels), H = V diag(l) V^T, H^1/2 = V diag(sqrt l) V^T,
// H^-1/2 = V diag(1 / sqrt l) V^T. Reused by every projection that reads the site.
struct SiteWhitening {
    at::Tensor h, half, invHalf;   // d x d, float64
};
SiteWhitening siteWhitening(const at::Tensor& gram);
// H = I (no statistics: rtn without calibration measures its error unwhitened).
SiteWhitening identityWhitening(int64_t d);

struct LowRank {
    at::Tensor l, r;   // m x k and k x d, float64 holding values of the factor dtype; undefined when k = 0
};

// The LR step: SVD of E H^1/2 = P S T^T, L = P_k S_k, R = T_k^T H^-1/2, each rounded to `factorType` (their
// storage). With factorType float64, the best rank-k fit of E in the H-norm.
LowRank lowRankStep(const at::Tensor& e, const SiteWhitening& s, int64_t k, c10::ScalarType factorType);

// ||(W - Q - L R) H^1/2||_F / ||W H^1/2||_F (qDense: Q as float64).
double relativeHError(const at::Tensor& w, const at::Tensor& qDense, const LowRank& lr, const SiteWhitening& s);

c10::ScalarType factorScalarType(const std::string& factorDtype);

struct CalderaResult {
    QuantizedRows q;
    LowRank lr;
    std::vector<double> errors;   // err after each iteration
    int64_t best = 0;             // index of the kept iterate (smallest err)
};

// Q = 0, L R = 0; `iters` times: LR step, then Q step; err after each; the best iterate is returned.
// `checkCancelled` is called between steps.
CalderaResult caldera(const at::Tensor& w, const SiteWhitening& s, const QuantSettings& q, int64_t k,
                      const std::function<void()>& checkCancelled = {});

} // namespace basis
