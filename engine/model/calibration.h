#pragma once
// Calibration: H = sum over tokens of x^T x at the input of every projection site (q/k/v share one, gate/up
// share one), accumulated during forward passes over calibration text. Activations are never kept.
#include "activation_store.h"
#include "architecture.h"
#include "progress.h"

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
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

    // H of a site in float64 (statistics stored in float32, calibration_cache.h, are widened on each call; float64
    // ones are returned as they are, without a copy).
    at::Tensor at(int64_t layer, InputSite site) const;
    bool hasMeans() const { return !sum.empty(); }
    // mu_x of a site; throws naming the cause when the statistics lack the sums.
    at::Tensor mean(int64_t layer, InputSite site) const;
};

// Runs the chunks through the model (in batches) with an input observer that accumulates each batch's
// X^T X in the model dtype's matmul and adds it to a float64 running sum (the reference accumulates in float32;
// per-batch float32 sums keep its per-batch error, about 1e-7 relative, and lose nothing across batches).
CalibrationStats collectStatistics(DecoderModel& model, const std::vector<std::vector<int64_t>>& chunks, int64_t batch,
                                   const JobContext& job = {});

// One layer's entries of CalibrationStats.
struct LayerStatistics {
    std::array<at::Tensor, kInputSites> gram, sum;
    std::array<int64_t, kInputSites> count{};
};

// Streamed calibration, the sequential scheme of GPTQ-style pipelines: the activations of every sample at the
// current layer's input are kept (model dtype, one tensor per batch), the layer runs over them batch by batch
// while the observer accumulates its statistics, and its output becomes the next layer's input. Peak memory is
// one layer's statistics and the activations, not every layer's statistics (1.37 GB of float64 per LLaMA-2-7B
// layer). The batches are collectStatistics' batches and run through the same operations, and the dense model
// does not change meanwhile, so the statistics are the same to the last bit (test_calibration_streamed).
// The activations are kept where `place` says (activation_store.h): on disk, a scratch file in `spillFolder`, each
// batch read back and copied to the model's device for its layer, the same bytes, so the same statistics.
class LayerwiseCalibration {
public:
    LayerwiseCalibration(DecoderModel& model, const std::vector<std::vector<int64_t>>& chunks, int64_t batch,
                         const JobContext& job = {}, ActivationPlace place = ActivationPlace::Memory,
                         const std::filesystem::path& spillFolder = {});
    ~LayerwiseCalibration();
    LayerwiseCalibration(const LayerwiseCalibration&) = delete;
    LayerwiseCalibration& operator=(const LayerwiseCalibration&) = delete;

    int64_t layers() const;
    int64_t nextLayer() const { return m_next; }
    // Statistics of layer nextLayer(), which then moves on; throws once every layer is done.
    LayerStatistics next();
    int64_t tokens() const { return m_tokens; }
    int64_t samples() const { return m_samples; }
    const std::array<int64_t, kInputSites>& siteWidths() const { return m_widths; }
    bool activationsOnDisk() const { return m_activations->onDisk(); }
    int64_t activationBytes() const { return m_activations->bytes(); }

private:
    DecoderModel& m_model;
    JobContext m_job;
    std::array<int64_t, kInputSites> m_widths{};
    std::unique_ptr<ActivationStore> m_activations;
    int64_t m_next = 0, m_tokens = 0, m_samples = 0;
};

} // namespace basis
