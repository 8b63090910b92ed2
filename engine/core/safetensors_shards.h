#pragma once
// Checkpoints written in shards as Hugging Face writes them: model-00001-of-0000N.safetensors, each at most a
// given size, and model.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map": {tensor: shard}});
// a single model.safetensors when everything fits in one shard. Each shard is written with the streaming writer,
// so a caller produces one tensor at a time and never holds the checkpoint.
#include "safetensors.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace basis {

constexpr uint64_t kDefaultShardBytes = 5'000'000'000;   // Hugging Face's default max_shard_size, "5GB"

// "5GB", "500MB", "64KB", "1000" (bytes); decimal units as Hugging Face reads them. Throws basis::Error naming
// `what` (the flag or key) on anything else or on zero.
uint64_t parseShardSize(const std::string& text, const std::string& what);

// The shard of each tensor, in the given order: a new shard starts when the next tensor's bytes would take the
// current one past maxShardBytes (a tensor larger than that gets a shard of its own). Returns the shard index of
// every tensor; the count is back() + 1.
std::vector<size_t> assignShards(const std::vector<TensorToWrite>& tensors, uint64_t maxShardBytes);

struct ShardedWrite {
    std::vector<std::string> files;   // file names inside the folder, in shard order
    uint64_t totalBytes = 0;          // the tensors' bytes (the index's total_size)
};

// Writes `tensors` (data ignored; bytes from produce(i, write), called once per tensor in the given order, as
// writeSafetensorsStreamed calls it) into `dir` (created when missing). Refuses first, naming the folder, when its file system lacks the
// room for all shards together. Files are written atomically one by one; callers that need the folder whole
// write it inside writeOutputFolder (output_folder.h).
ShardedWrite writeSafetensorsSharded(const std::filesystem::path& dir, const std::vector<TensorToWrite>& tensors,
                                     uint64_t maxShardBytes,
                                     const std::function<void(size_t index, const TensorBytesSink& write)>& produce,
                                     const std::map<std::string, std::string>& metadata = {});

} // namespace basis
