#pragma once
// The feature-space numbers computed here by brute force from the model's weights and the calibration statistics
// (no Workspace, no engine thread, none of feature_space_factorize's functions): what the studio's Spectra and
// Utilization tabs must show. Kept out of the Qt Test file: its .cpp includes LibTorch, which must not meet Qt's
// `slots` macro (docs/ARCHITECTURE.md, "Why the studio never sees LibTorch").
#include "job_options.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace basis::uitest {

struct ReferenceProjection {
    std::vector<double> output;   // eigenvalues of W G W^T (utilized) or W C_x W^T (sfsd), descending, first min(m, d)
    std::vector<double> input;    // eigenvalues of G or C_x, descending
    int64_t m = 0, d = 0;
    int64_t energyRank = 0;       // smallest r with sum_{i<=r} / sum >= e, counted one by one
};

// Calibrates the model as the studio does with `calibration` (no cache), then, for every projection of every layer
// whose part is in `parts`: (layer, part) -> its spectra and energy rank at `energy`. Negative eigenvalues count 0.
std::map<std::pair<int64_t, std::string>, ReferenceProjection>
referenceFeatureSpace(const std::filesystem::path& modelDir, const CalibrateOptions& calibration,
                      const std::string& method, double energy, const std::vector<std::string>& parts);

} // namespace basis::uitest
