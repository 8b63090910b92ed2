#pragma once
// Calibration from a text file, through the on-disk cache: tokenize, reuse a matching cache or collect and
// save. Shared by basis-cli calibrate/compress, the YAML pipeline and the GUI worker.
#include "calibration_cache.h"
#include "perplexity.h"

#include <filesystem>

namespace basis {

class DecoderModel;
class Tokenizer;

struct CalibrationRequest {
    std::filesystem::path text;       // a plain text file, read as it is ...
    std::string dataset;              // ... or a preset's train split, read by its recipe (datasets.h)
    std::filesystem::path dataDir;
    CalibrationOptions options;
    BosPolicy bos = BosPolicy::Auto;
    std::filesystem::path cacheDir;   // empty: no cache
    bool force = false;               // recompute even when the cache matches
    std::vector<int64_t> spectra;     // group sizes whose spectra are stored with the cache (empty: none)
    std::string statisticsDtype = "float64";   // how the cache stores H: float64 or float32 (calibration_cache.h)
    // Where a streamed calibration keeps its activations (activation_store.h); on disk, beside the cache folder.
    ActivationPlace activations = ActivationPlace::Auto;
};

struct CalibrationOutcome {
    CalibrationStats stats;
    bool reused = false;
    bool spectraWritten = false;      // spectra were computed and stored with the cache
    CalibrationIdentity identity;
    bool activationsOnDisk = false;   // the streamed calibration kept its activations in a scratch file
    int64_t activationBytes = 0;      // the activations of every sample at one layer (0: none kept, or reused)
};

// With a cache folder, the writer's lock is held throughout (a second writer of the same folder waits), and the
// cache is written as one unit (statistics, description, spectra). A reused cache that lacks requested spectra
// is rewritten with them.
CalibrationOutcome calibrateFromText(DecoderModel& model, const Tokenizer& tokenizer, const CalibrationRequest& request,
                                     const JobContext& job = {});

// Loads a cache made for this model (any text and settings); checks the layer count.
CalibrationStats loadCalibrationFor(const DecoderModel& model, const std::filesystem::path& cacheDir,
                                    CalibrationIdentity* found = nullptr);

} // namespace basis
