#pragma once
// A training checkpoint: the trained tensors, AdamW's state and the steps done, with the identity of the run
// (options that shape the trajectory, the text's fingerprint, the tensors' shapes). Written atomically.
#include "train_options.h"

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <vector>

namespace torch::optim {
class Optimizer;
}

namespace basis {

// `extra`: what the run reports beyond its trajectory (the perplexity before training), handed back on load.
void saveTrainCheckpoint(const std::filesystem::path& file, const nlohmann::json& identity, int64_t step,
                         const std::vector<TrainStep>& history, const std::vector<at::Tensor>& params,
                         torch::optim::Optimizer& optimizer, const nlohmann::json& extra = nlohmann::json::object());

// Reads `file` into params (copied in place) and the optimizer; returns the steps done. Throws basis::Error naming
// the file and the field when the checkpoint belongs to another run.
int64_t loadTrainCheckpoint(const std::filesystem::path& file, const nlohmann::json& identity,
                            std::vector<TrainStep>& history, const std::vector<at::Tensor>& params,
                            torch::optim::Optimizer& optimizer, nlohmann::json* extra = nullptr);

} // namespace basis
