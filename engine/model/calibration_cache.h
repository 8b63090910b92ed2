#pragma once
// The calibration cache on disk, one unit: statistics.safetensors (one float64 H per layer and input site),
// calibration.json (fingerprints of the model and text, and the settings), optionally spectra.safetensors, and
// the output marker with every file's size and checksum (output_folder.h), written last and verified on read.
// The folder is built beside the target and swapped in whole, so a cache is never half old, half new. A cache is
// reused only when every fingerprint and setting matches; otherwise the error names the field that differs.
#include "calibration.h"
#include "output_folder.h"
#include "spectra.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace basis {

class DecoderModel;

// Hash of config.json and every tensor's name, dtype, shape and sampled content (the first and last 64 KiB):
// cheap for multi-GB checkpoints and sensitive to any other model.
std::string modelFingerprint(const std::filesystem::path& modelDir);
std::string tokensFingerprint(const std::vector<int64_t>& ids);

struct CalibrationIdentity {
    std::string model;          // modelFingerprint
    std::string text;           // tokensFingerprint of the calibration token stream (BOS included)
    CalibrationOptions options;
    std::string bos;            // BOS policy name
    // How H is stored: "float64" (the default: exact to what was accumulated) or "float32" (half the file and the
    // mapped pages; rounded once, when written). Empty in an expected identity: any. Sums s stay float64.
    std::string statisticsDtype = "float64";
    nlohmann::json toJson() const;
};

// Writes the whole cache (spectra when given). `modelDir`: the model read, which the cache must not replace;
// `held`: the writer's lock when the caller took it before calibrating.
void saveCalibration(const std::filesystem::path& dir, const CalibrationStats& stats, const CalibrationIdentity& id,
                     const Spectra* spectra = nullptr, const std::filesystem::path& modelDir = {},
                     const OutputLock* held = nullptr, const LogFn& log = {});

// Streamed calibration straight into the cache: statistics.safetensors is written a layer at a time, each layer
// calibrated (calibration.next()) when the writer reaches its tensors and freed after, then the spectra of
// `spectraSizes` are computed from the written file, then the description. Same files, to the last bit, as
// collectStatistics + saveCalibration. Returns the statistics as read-only views of the written file.
CalibrationStats calibrateIntoCache(const std::filesystem::path& dir, LayerwiseCalibration& calibration,
                                    const CalibrationIdentity& id, const DecoderModel& model,
                                    const std::vector<int64_t>& spectraSizes, const OutputLock* held = nullptr,
                                    const JobContext& job = {});

// Throws basis::Error naming the cache and the first field that differs from `expected` (fields of `expected`
// left empty are not checked), a file that differs from the manifest, or a cache without one (older versions).
// The tensors are read-only views of the mapped statistics file (file-backed pages, read as they are used).
CalibrationStats loadCalibration(const std::filesystem::path& dir, const CalibrationIdentity& expected,
                                 CalibrationIdentity* found = nullptr);

// Whether a cache stores s and N per site (format 2); older caches hold H alone.
bool hasInputSums(const std::filesystem::path& dir);

// The identity a cache was built with (for callers that pass only --calib).
CalibrationIdentity readCalibrationIdentity(const std::filesystem::path& dir);

// Group sizes whose spectra the cache stores (empty when none).
std::vector<int64_t> cachedSpectraSizes(const std::filesystem::path& dir);

// The stored spectra; throws naming the cache when it has none.
Spectra loadCachedSpectra(const std::filesystem::path& dir);

} // namespace basis
