#pragma once
// Settings of the feature-space methods (utilized, hybrid, weight-svd, sfsd): how each projection's rank is
// picked (an energy, a fraction of the break-even rank, or a ranks file) and the rank policy applied on top.
// Plain data, torch-free: CompressionSettings carries one, so the CLI, the YAML pipeline and the studio share it.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace basis {

// Ranks per part, one entry per layer; kDenseRank keeps that projection dense (a ranks file's null).
using RankTable = std::map<std::string, std::vector<int64_t>>;
inline constexpr int64_t kDenseRank = -1;

struct FeatureSpaceSettings {
    std::optional<double> energy;       // e in (0, 1] (e_w for weight-svd); unset: the method's default
    std::optional<double> fraction;     // sfsd: r = max(1, floor(f kappa)), f in (0, 1)
    std::filesystem::path ranksFile;    // a ranks JSON (docs/RANKS_FILE.md)
    std::string policy = "uniform";     // uniform, qkv_heavier, mlp_heavier
    // The ranks before the policy, resolved from the statistics (energy) or the ranks file by the compression
    // job; empty until then. Fraction ranks need no statistics and are planned directly.
    RankTable ranks;
};

} // namespace basis

namespace basis::setting {
inline constexpr const char* Energy = "energy";        // FeatureSpaceSettings::energy, YAML energy
inline constexpr const char* Fraction = "fraction";    // FeatureSpaceSettings::fraction, YAML fraction
inline constexpr const char* Ranks = "ranks";          // FeatureSpaceSettings::ranksFile, YAML ranks
inline constexpr const char* Policy = "policy";        // FeatureSpaceSettings::policy, YAML policy
} // namespace basis::setting
