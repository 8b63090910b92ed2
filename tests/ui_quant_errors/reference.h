#pragma once
// The engine's per-iteration errors of a quantizing compression, computed here without the studio: the model
// calibrated as the studio does and compressModel called directly (no Workspace, no engine thread). Kept out of
// the Qt Test file: its .cpp includes LibTorch, which must not meet Qt's `slots` macro.
#include "compression_plan.h"
#include "job_options.h"

#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace basis::uitest {

struct ReferenceErrors {
    std::vector<double> errors;   // relative H-error after each iteration
    int64_t best = -1;
};

// (part, first layer) -> the group's errors.
std::map<std::pair<std::string, int64_t>, ReferenceErrors>
referenceQuantErrors(const std::filesystem::path& modelDir, const CalibrateOptions& calibration,
                     const CompressionSettings& settings);

} // namespace basis::uitest
