// B = U_k diag(s_k), C = V_k^T of W itself: the SVD baseline, no statistics.
#include "factorizer.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace basis {

namespace {

class PlainSvdFactorizer final : public Factorizer {
public:
    GroupFactors factorize(const at::Tensor& w, const at::Tensor& /*gram*/, int64_t k) const override
    {
        c10::InferenceMode inference;
        GroupFactors f;
        auto [u, sv, vh] = at::linalg_svd(w, /*full_matrices=*/false);
        f.basis = u.narrow(1, 0, k) * sv.narrow(0, 0, k).unsqueeze(0);
        f.coefficients = vh.narrow(0, 0, k);
        f.singularValues = sv;
        return f;
    }
};

} // namespace

const Factorizer& plainSvdFactorizer()
{
    static const PlainSvdFactorizer f;
    return f;
}

} // namespace basis
