#pragma once
// The LibTorch half of the feature-space methods (issue 13's definitions). Notation: y = W x + b, W is m x d.
// Every decomposition is float64 on the CPU; symmetric eigenvalues come out descending, negatives clamped to 0.
#include "calibration.h"
#include "compress.h"
#include "feature_space_plan.h"

#include <ATen/core/Tensor.h>

namespace basis {

class DecoderModel;

// A projection's factors: y ~ A (B x) + bias.
struct ProjectionFactors {
    at::Tensor a;      // m x r
    at::Tensor b;      // r x d
    at::Tensor bias;   // m; undefined when the projection has none and the method adds none
};

// What a method decomposes once per projection; any rank is then cheap (the search tries several).
struct ProjectionDecomposition {
    std::string method;
    at::Tensor spectrum;   // descending, >= 0: what the energy is measured on (eigenvalues, or squared singular values)
    at::Tensor left;       // m x q: U (utilized), V (sfsd) or P (hybrid, weight-svd), columns in spectrum order
    at::Tensor right;      // hybrid, weight-svd: S Q^T (q x d); else undefined
    at::Tensor w;          // m x d
    at::Tensor bias;       // m or undefined
    at::Tensor meanOut;    // sfsd: mu_y = W mu_x

    // The smallest r >= 1 whose energy sum_{i<=r} lambda_i / sum_i lambda_i is >= e (1 when the spectrum is 0).
    int64_t energyRank(double e) const;
    double energy(int64_t r) const;
    ProjectionFactors factors(int64_t r) const;
};

// `w` m x d, `bias` m or undefined; `gram` G = sum x x^T (d x d); sfsd: `mean` mu_x = s / N and `tokens` N.
ProjectionDecomposition decomposeProjection(const std::string& method, const at::Tensor& w, const at::Tensor& bias,
                                            const at::Tensor& gram, const at::Tensor& mean = {}, int64_t tokens = 0);

// The input-side covariance the output one is built from: G (utilized, hybrid), C_x = G / N - mu_x mu_x^T (sfsd).
at::Tensor inputCovariance(const std::string& method, const at::Tensor& gram, const at::Tensor& mean, int64_t tokens);

// Eigenvalues of a loaded projection's inputCovariance (weight-svd: of G), descending, negatives clamped to 0: the
// input-side spectrum the studio draws beside the output one. Undefined without statistics.
at::Tensor inputSpectrum(const std::string& method, const DecoderModel& model, int64_t layer, size_t projection,
                         const CalibrationStats* stats);

// The decomposition of one loaded projection from the model's dense weights and the statistics (null for weight-svd).
ProjectionDecomposition decomposeSlot(const std::string& method, const DecoderModel& model, int64_t layer,
                                      size_t projection, const CalibrationStats* stats);

// Settings with FeatureSpaceSettings::ranks filled: by energy from the statistics, or from the ranks file; left
// as they are when fraction ranks need nothing. Validates first (feature_space_plan.h).
CompressionSettings resolveFeatureSpaceRanks(const DecoderModel& model, const CalibrationStats* stats,
                                             const CompressionSettings& settings, const JobContext& job = {});

// Puts the factors in a slot: basis = B^T (d x r), coefficients = A^T (r x m), the bias replaced.
void installFactors(DecoderModel& model, int64_t layer, size_t projection, const ProjectionFactors& f);

// compressModel for a feature-space plan: every group (one factorized layer) gets its method's factors at k.
CompressionResult compressFeatureSpace(DecoderModel& model, const CalibrationStats* stats, const CompressionPlan& plan,
                                       const JobContext& job = {});

} // namespace basis
