#pragma once
// The LibTorch half of a compression method: the factors of one group. compressModel (engine/model/compress.h)
// gathers the group's weights and statistics, calls the method's factorizer, and installs what comes back.
// Never included from the studio (ui/ builds against no_torch/).
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>

namespace basis {

struct GroupFactors {
    at::Tensor basis;            // n_in x k, float64 on the CPU
    at::Tensor coefficients;     // k x (layers * n_out): the layers' coefficient matrices side by side
    at::Tensor singularValues;   // float64, descending, all of them (the energy plots read them)
    double jitter = 0;           // Cholesky shift used, 0 when none
};

class Factorizer {
public:
    virtual ~Factorizer() = default;
    // weights: W_G = [W_1 | ... | W_g] (n_in x g*n_out), float64 on the CPU. gram: H_G, the sum of the group's
    // x^T x (n_in x n_in, float64), undefined when the method's statistics() is None. k: the plan's rank.
    virtual GroupFactors factorize(const at::Tensor& weights, const at::Tensor& gram, int64_t k) const = 0;
};

} // namespace basis
