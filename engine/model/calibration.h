#pragma once
// Calibration: H = sum over tokens of x^T x at the input of every projection site (q/k/v share one, gate/up
// share one), accumulated during forward passes over calibration text. Activations are never kept.
#include "architecture.h"
#include "progress.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace basis {

class DecoderModel;

enum class Sampling { Sequential, Random };
std::string samplingName(Sampling s);
Sampling parseSampling(const std::string& name);

struct CalibrationOptions {
    int64_t samples = 0;          // chunks to use; 0 = every full chunk of the text
    int64_t context = 512;        // tokens per chunk
    Sampling sampling = Sampling::Sequential;
    uint64_t seed = 0;            // for random chunks
    int64_t batch = 1;            // chunks per forward pass
};

// Sequential: ids[c*i, c*(i+1)) for i = 0.. (full chunks only, in order). Random: `samples` chunks at
// uniformly drawn starts (std::mt19937_64 seeded with `seed`). Throws when the text has no full chunk.
std::vector<std::vector<int64_t>> calibrationChunks(const std::vector<int64_t>& ids, const CalibrationOptions& options);

// Per layer and input site: H (float64, CPU, n_in x n_in); undefined for sites no projection reads. Beside it
// s = sum_t x_t (float64, n_in) and N, the tokens that entered the sums, so that mu_x = s / N and
// C_x = H / N - mu_x mu_x^T (the feature-space methods). Calibration chunks are full windows of one length, so no
// padding position exists to leave out; a padded batch would have to mask its rows before the observer.
// `sum` is empty for a cache written before the sums were stored (hasMeans() false): never guess a mean.
struct CalibrationStats {
    std::vector<std::array<at::Tensor, kInputSites>> gram;
    std::vector<std::array<at::Tensor, kInputSites>> sum;
    std::vector<std::array<int64_t, kInputSites>> count;
    int64_t tokens = 0;
    int64_t samples = 0;

    const at::Tensor& at(int64_t layer, InputSite site) const;
    bool hasMeans() const { return !sum.empty(); }
    // mu_x of a site; throws naming the cause when the statistics lack the sums.
    at::Tensor mean(int64_t layer, InputSite site) const;
};

// Runs the chunks through the model (in batches) with an input observer that accumulates each batch's
// X^T X in the model dtype's matmul and adds it to a float64 running sum (the reference accumulates in float32;
// per-batch float32 sums keep its per-batch error, about 1e-7 relative, and lose nothing across batches).
CalibrationStats collectStatistics(DecoderModel& model, const std::vector<std::vector<int64_t>>& chunks, int64_t batch,
                                   const JobContext& job = {});

} // namespace basis
