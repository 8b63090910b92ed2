#pragma once
// The architectures the engine runs, one file each under engine/core/archs/: the model_type it answers to,
// its config.json parser, its tensor-name table, its default shared parts and its synthetic shapes. The
// decoder never tests which architecture it runs; it reads the flags the parser set and the table.
// Torch-free. How to add one: docs/ARCHITECTURE.md.
#include "architecture.h"
#include "config_keys.h"
#include "model_config.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace basis {

// A named synthetic shape (basis-cli synth): sizes, plus config.json keys the architecture adds.
struct SynthShape {
    std::string name;                 // preset name, or "<preset>-custom"
    std::string arch;                 // model_type of the architecture
    int64_t vocab = 0, hidden = 0, layers = 0, heads = 0, kvHeads = 0, intermediate = 0, maxPositions = 0;
    int64_t headDim = 0;              // 0: hidden / heads
    int64_t slidingWindow = 0;        // Mistral
    bool tieEmbeddings = false;
    bool micro = false;               // a tiny test shape (listed after the real ones)
    nlohmann::json extraConfig = nlohmann::json::object();   // merged into config.json (rope_theta, rope_scaling)
};

// A fused projection that can be addressed as its parts: `fused` is its short name, `parts` its row blocks in order
// (each part's size follows from its role: q heads x head_dim, k and v key/value heads x head_dim, gate and up
// the intermediate size), with the module names a compressed folder stores them under.
struct FusedPart {
    std::string part, module;
    Role role = Role::Q;
};
struct FusedSplit {
    std::string fused;
    std::vector<FusedPart> parts;
};

struct ArchDefinition {
    std::string modelType;                                          // config.json model_type
    bool separateKvHeads = true;                                    // GPT-2 and OPT have none of their own
    void (*parseConfig)(const ConfigKeys& keys, ModelConfig& config) = nullptr;   // sets sizes and flags
    ArchTable (*table)(const ModelConfig& config) = nullptr;
    std::vector<std::string> defaultShared;                         // Basis Sharing's default shared parts
    std::string defaultSharedReason;                                // why, for docs and --help
    nlohmann::json (*synthConfig)(const SynthShape& shape) = nullptr;   // the config.json of a shape
    std::vector<SynthShape> synthShapes;
    std::vector<FusedSplit> fusedSplits{};                          // none: no fused projection can be split
};

// Every registered architecture, in registry order (engine/core/archs/arch_list.inc).
const std::vector<const ArchDefinition*>& architectures();
// Throws basis::Error naming the unknown type and listing the supported ones.
const ArchDefinition& architecture(const std::string& modelType);
std::string supportedModelTypes();   // "gpt2, opt, llama, ..."

} // namespace basis
