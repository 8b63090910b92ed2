#pragma once
// Exact parameter counts from config.json alone (no weights, no torch): what the model holds, by kind.
#include "architecture.h"

namespace basis {

struct ProjectionCount {
    const ProjectionSpec* spec = nullptr;
    int64_t weights = 0;   // n_in x n_out
    int64_t bias = 0;
};

struct DenseCounts {
    std::vector<ProjectionCount> perLayer;   // one layer's projections (every layer has the same)
    int64_t projectionsPerLayer = 0;         // weights + biases of one layer's projections
    int64_t normsPerLayer = 0;
    int64_t projections = 0;                 // all layers
    int64_t embeddings = 0;                  // token embedding (+ OPT project_in/out)
    int64_t positions = 0;                   // learned positions
    int64_t lmHead = 0;                      // 0 when tied to the embedding
    int64_t finalNorm = 0;
    int64_t total = 0;                       // distinct parameters
};

DenseCounts denseParameterCounts(const ModelConfig& config, const ArchTable& table);

} // namespace basis
