#pragma once
// The calibration cache on disk: statistics.safetensors (one float64 H per layer and input site) and
// calibration.json (fingerprints of the model and text, and the settings). A cache is reused only when every
// fingerprint and setting matches; otherwise the error names the field that differs.
#include "calibration.h"

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
    nlohmann::json toJson() const;
};

void saveCalibration(const std::filesystem::path& dir, const CalibrationStats& stats, const CalibrationIdentity& id);

// Throws basis::Error naming the cache and the first field that differs from `expected` (fields of `expected`
// left empty are not checked), or a damaged/truncated statistics file.
CalibrationStats loadCalibration(const std::filesystem::path& dir, const CalibrationIdentity& expected,
                                 CalibrationIdentity* found = nullptr);

// The identity a cache was built with (for callers that pass only --calib).
CalibrationIdentity readCalibrationIdentity(const std::filesystem::path& dir);

} // namespace basis
