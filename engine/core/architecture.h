#pragma once
// Per-architecture tables of tensor names and projections (llama.cpp style): one generic decoder reads
// these instead of having a copy of the model per architecture. Torch-free, so that parameter
// accounting and the GUI can use it without touching weights.
#include "model_config.h"

#include <string>
#include <vector>

namespace basis {

// What a projection does inside the block; the decoder wires slots by role.
// QKV is a fused [q | k | v] projection (with GQA sizes), GateUp a fused [gate | up] one (Phi-3).
enum class Role { Q, K, V, QKV, O, Gate, Up, GateUp, Down, FcIn, FcOut };

// Where a projection reads its input. Projections at one site see the same activations, so calibration
// keeps one statistic per site (q/k/v share AttnIn, gate/up share MlpIn).
enum class InputSite { AttnIn = 0, AttnOut = 1, MlpIn = 2, MlpOut = 3 };
constexpr int kInputSites = 4;
std::string inputSiteName(InputSite site);

struct ProjectionSpec {
    std::string part;            // short name used by users and configs: "q", "gate", "attn.c_attn", "fc1"
    std::string module;          // module path inside a layer, as in Hugging Face: "self_attn.q_proj"
    Role role = Role::Q;
    InputSite site = InputSite::AttnIn;
    int64_t in = 0, out = 0;     // y = x W with W of n_in x n_out
    bool storedInOut = false;    // GPT-2 Conv1D keeps [in, out]; nn.Linear keeps [out, in]
    bool hasBias = false;
    // A part of a fused projection addressed on its own (ModelConfig::splitFused): its dense weight is the rows
    // (columns when storedInOut) [fusedOffset, fusedOffset + out) of `fusedModule`, whose full output is fusedOut.
    std::string fusedModule{};
    int64_t fusedOffset = 0, fusedOut = 0;
};

struct ArchTable {
    std::string layerPrefix;     // "model.layers.{L}."
    std::vector<ProjectionSpec> projections;   // per layer, in forward order
    std::string attnNorm, mlpNorm;             // per-layer norm module names (after layerPrefix)
    bool normHasBias = false;
    std::string embedTokens;                   // full tensor name
    std::string embedPositions;                // empty when RoPE
    std::string finalNorm;                     // module name without .weight, empty when absent
    std::string lmHead;                        // empty when tied to embedTokens
    std::string projectIn, projectOut;         // OPT, empty when absent

    std::string layerTensor(int64_t layer, const std::string& moduleAndParam) const;
    const ProjectionSpec* findPart(const std::string& nameOrModule) const;   // short name or module path
    std::vector<std::string> partNames() const;
};

// The table of the config's registered architecture (engine/core/archs/), with the fused projections named in
// config.splitFused replaced by their parts (q, k, v of Phi-3's qkv, in row order). Throws basis::Error for a name
// that is not a fused projection the architecture can split.
ArchTable archTable(const ModelConfig& config);

// The table with every fused projection the architecture can split replaced by its parts (Phi-3: q, k, v, o, gate,
// up, down); the config's own table when it has none.
ArchTable tableWithAllParts(const ModelConfig& config);

// The fused projections (in table order) whose parts appear among `names` (short names or module paths), i.e. the
// splitFused a setting naming those parts needs. Throws basis::Error when a fused projection and one of its parts
// are both named.
std::vector<std::string> fusedPartsNamed(const ModelConfig& config, const std::vector<std::string>& names);

// Parts shared across a group by default in the published Basis Sharing method; the others stay private.
std::vector<std::string> defaultSharedParts(const ModelConfig& config);

// Helpers for the architecture files.
ProjectionSpec projection(std::string part, std::string module, Role role, InputSite site, int64_t in, int64_t out,
                          bool storedInOut, bool bias);

} // namespace basis
