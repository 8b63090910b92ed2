#pragma once
// Compression methods applied to a loaded model through its linear slots, and the whitening they share.
#include "calibration.h"
#include "compression_plan.h"
#include "progress.h"

#include <ATen/core/Tensor.h>

#include <vector>

namespace basis {

class DecoderModel;

// Whitening S (upper triangular, H = S^T S) of a float64 Gram matrix: cholesky(H)^T, and when H is not
// positive definite, cholesky(H + (-lambda_min + eps) I)^T. `jitter` receives the shift used (0 if none).
at::Tensor whiteningFactor(const at::Tensor& gram, double* jitter = nullptr);

// The group's weights side by side, W_G = [W_1 | ... | W_g] (n_in x g*n_out), float64.
at::Tensor groupWeights(const DecoderModel& model, const ProjectionSpec& spec, const std::vector<int64_t>& layers);

// Singular values of S W_G (or of W_G without whitening), float64, descending.
at::Tensor groupSpectrum(const DecoderModel& model, const CalibrationStats* stats, const ProjectionSpec& spec,
                         const std::vector<int64_t>& layers, bool whiten);

// Energy kept by the first k singular values: sum(s[:k]^2) / sum(s^2).
double energyKept(const at::Tensor& singularValues, int64_t k);

struct GroupResult {
    std::string part;
    std::vector<int64_t> layers;
    int64_t k = 0;
    double energy = 0;                 // fraction of sum(s^2) kept
    double jitter = 0;                 // Cholesky shift, 0 when H was positive definite
    at::Tensor singularValues;         // float64, all of them
    // Quantizing methods (caldera/): the relative H-error after each iteration and the kept one. energy is then
    // 1 - err^2 of the kept iterate (the fraction of ||W H^1/2||^2 it reproduces, as the SVD's energy is).
    std::vector<double> iterationErrors;
    int64_t bestIteration = -1;
    // channel_order.h: the factorizer's index of each stored rank channel and its importance s_j (descending);
    // empty when the channels were not ordered.
    std::vector<int64_t> channelOrder;
    std::vector<double> channelImportance;
    std::string channelImportanceSource;   // "calibration" or "weights" (no statistics: H = I)
};

struct CompressionResult {
    CompressionPlan plan;
    std::vector<GroupResult> groups;
    double seconds = 0;
};

class Factorizer;

// One group factorized as compressModel installs it: the shared basis and each layer's coefficients (the group's
// columns of C) in the model's dtype, on its device, contiguous; `record` holds k, the spectrum, energy and shift.
// `gram`: pass the group's x^T x to the factorizer (methods whose statistics() is InputGram; `stats` required).
struct FactorizedGroup {
    at::Tensor basis;
    std::vector<at::Tensor> coeffs;
    GroupResult record;
};
FactorizedGroup factorizeGroup(const DecoderModel& model, const CalibrationStats* stats, const ProjectionSpec& spec,
                               const GroupPlan& group, const Factorizer& factorizer, bool gram);

// The dense weights (n_in x n_out views) of every projection, kept before compression so that the update step
// can refit coefficients against the original layer.
std::vector<std::vector<at::Tensor>> snapshotDenseWeights(const DecoderModel& model);

// Replaces every compressed part of the plan with the factors of its method's factorizer (engine/methods), e.g.
// B = S^-1 U_k diag(s_k) shared by the group (one tensor for all its layers), C_l = the layer's columns of V_k^T.
// `stats` is required when the method's statistics() is not None.
CompressionResult compressModel(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                const JobContext& job = {});

// The update step: with every basis fixed, C_l = (B^T H' B)^-1 B^T H' W_l, with H' collected on the compressed
// model (inputs as the compressed layers now see them) and W_l the original dense weight.
void refitCoefficients(DecoderModel& model, const std::vector<std::vector<at::Tensor>>& dense,
                       const CalibrationStats& compressedStats, const CompressionPlan& plan, const JobContext& job = {});

} // namespace basis
