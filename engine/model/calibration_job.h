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
};

struct CalibrationOutcome {
    CalibrationStats stats;
    bool reused = false;
    CalibrationIdentity identity;
};

CalibrationOutcome calibrateFromText(DecoderModel& model, const Tokenizer& tokenizer, const CalibrationRequest& request,
                                     const JobContext& job = {});

// Loads a cache made for this model (any text and settings); checks the layer count.
CalibrationStats loadCalibrationFor(const DecoderModel& model, const std::filesystem::path& cacheDir,
                                    CalibrationIdentity* found = nullptr);

} // namespace basis
