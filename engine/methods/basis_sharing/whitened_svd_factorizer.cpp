// B = S^-1 U_k diag(s_k), C = V_k^T of S W_G, S = cholesky(H_G)^T: Basis Sharing's factors (svd-llm's at g = 1).
#include "factorizer.h"

#include "compress.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace basis {

namespace {

class WhitenedSvdFactorizer final : public Factorizer {
public:
    GroupFactors factorize(const at::Tensor& w, const at::Tensor& gram, int64_t k) const override
    {
        c10::InferenceMode inference;
        if (!gram.defined())
            throw Error("internal: the whitened SVD needs the group's x^T x");
        GroupFactors f;
        at::Tensor s = whiteningFactor(gram, &f.jitter);
        auto [u, sv, vh] = at::linalg_svd(at::matmul(s, w), /*full_matrices=*/false);
        at::Tensor uk = u.narrow(1, 0, k) * sv.narrow(0, 0, k).unsqueeze(0);
        // A triangular solve instead of an explicit inverse.
        f.basis = at::linalg_solve_triangular(s, uk, /*upper=*/true);
        f.coefficients = vh.narrow(0, 0, k);
        f.singularValues = sv;
        return f;
    }
};

} // namespace

const Factorizer& whitenedSvdFactorizer()
{
    static const WhitenedSvdFactorizer f;
    return f;
}

} // namespace basis
