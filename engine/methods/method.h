#pragma once
// One compression method: what it is called, what it reads, how it plans and which settings it exposes. Torch-free
// and Qt-free: the planner (live counts), the studio's controls, the CLI's help and the YAML reader all read it.
// The LibTorch half, the factorizer, is registered under factorizerName() in factorizer_registry.h.
// docs/ADDING_A_METHOD.md says how to add one.
#include "architecture.h"

#include <cstdint>
#include <string>
#include <vector>

namespace basis {

struct CompressionSettings;

// The statistics a method's factorizer reads from calibration.
enum class MethodStatistics {
    None,        // the weights alone (plain SVD)
    InputGram,   // H = sum of x^T x at each projection's input (calibration_cache.h)
};

// Keys of the settings CompressionSettings carries; a method lists those it reads.
namespace setting {
inline constexpr const char* Ratio = "ratio";                 // CompressionSettings::ratio, YAML compression_ratio
inline constexpr const char* GroupSize = "group_size";        // CompressionSettings::groupSize, YAML group_size
inline constexpr const char* SharedParts = "share_part";      // CompressionSettings::shared, YAML share_part
inline constexpr const char* PrivateParts = "private_part";   // CompressionSettings::privateParts, YAML private_part
inline constexpr const char* Update = "update";               // CompressionSettings::update, YAML update
} // namespace setting

// One setting a method exposes, as the studio, the CLI help and the YAML reader describe it.
struct MethodSetting {
    enum class Type { Percent, Integer, Parts, Flag, Choice };   // Choice: a word, the values in `help`
    std::string key;               // one of setting::*
    std::string label;             // the studio's label
    Type type = Type::Integer;
    double defaultValue = 0;       // of the engine's CompressionSettings (Parts: unused, empty = the published choice)
    double minimum = 0, maximum = 0;   // maximum 0: bounded by the model (group size: its layer count)
    std::string help;              // one sentence
};

class CompressionMethod {
public:
    virtual ~CompressionMethod() = default;

    virtual std::string name() const = 0;          // "basis-sharing": YAML, CLI, config.json
    virtual std::string displayName() const = 0;   // "Basis Sharing": the studio's Method box
    virtual std::string description() const = 0;   // one paragraph: tooltips and `basis-cli compress --help`
    virtual MethodStatistics statistics() const = 0;
    virtual std::vector<MethodSetting> settings() const = 0;
    // The LibTorch factorizer that computes this method's factors (factorizer_registry.h).
    virtual std::string factorizerName() const = 0;

    // Planner hooks (planCompression calls them; torch-free, exact).
    // Whether shared parts span groups of layers. false: every compressed part is per layer and the plan's group
    // size is 1 whatever was asked.
    virtual bool groupsLayers() const = 0;
    // Rank k of one group of `layers` layers planned at group size `groupSize`. Default: groupRank, the published rule.
    virtual int64_t groupRankFor(double ratio, int64_t nIn, int64_t nOut, int64_t groupSize, int64_t layers) const;
    // Weights a group of `layers` layers holds after factorization at rank k. Default: one n_in x k basis plus
    // `layers` k x n_out coefficient matrices.
    virtual int64_t factoredWeights(int64_t nIn, int64_t nOut, int64_t k, int64_t layers) const;

    // Hooks of methods with settings of their own (the quantizing methods, caldera/). planCompression calls
    // resolveSettings first: it validates and fixes the method's settings in place (throws basis::Error naming
    // the setting). rankOf: k of a group, default groupRankFor(s.ratio, ...). allowsRankZero: k = 0 is a valid
    // plan (a pure quantizer). storedBytes: bytes the group stores after compression when a dense weight takes
    // `elementBytes`, default factoredWeights x elementBytes. bitsPerWeightFormula: the method's published figure
    // per weight of the group's dense matrices, default storedBytes x 8 / weights.
    virtual void resolveSettings(CompressionSettings&) const {}
    virtual int64_t rankOf(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t groupSize, int64_t layers) const;
    virtual bool allowsRankZero() const { return false; }
    virtual int64_t storedBytes(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t k, int64_t layers,
                                int64_t elementBytes) const;
    virtual double bitsPerWeightFormula(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t k,
                                        int64_t layers, int64_t elementBytes) const;

    // Storage. Default "factors": every layer's B (shared by its group, stored once) and C in model.safetensors as
    // compressed_io.cpp writes them. A method with another layout overrides this and teaches compressed_io the name.
    virtual std::string storageLayout() const { return "factors"; }

    // The feature-space methods (engine/methods/feature_space/): a rank per projection instead of the ratio's,
    // planned by planFeatureSpace and factorized by compressFeatureSpace.
    virtual bool featureSpace() const { return false; }

    bool needsStatistics() const { return statistics() != MethodStatistics::None; }
    bool uses(const std::string& settingKey) const;   // settingKey is listed in settings()
};

} // namespace basis
