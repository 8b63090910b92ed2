#pragma once
// Compressed model folders: config.json (the original fields plus a "compression" section),
// model.safetensors (or its shards) with each shared basis stored once, and the tokenizer files; and dense export.
#include "compress.h"
#include "output_folder.h"
#include "safetensors_shards.h"

#include <filesystem>
#include <nlohmann/json.hpp>

namespace basis {

class DecoderModel;

// The "compression" section written to config.json.
nlohmann::json compressionSection(const CompressionResult& result, const nlohmann::json& extra = {});

// Writes the compressed model to `out` (output_folder.h: refused when `out` is not ours to replace; assembled
// beside it and swapped in at the end, so a failed or cancelled save leaves an earlier `out` as it was).
void saveCompressedModel(const DecoderModel& model, const CompressionResult& result, const std::filesystem::path& out,
                         const nlohmann::json& extra = {}, const JobContext& job = {},
                         uint64_t shardBytes = kDefaultShardBytes);

// Writes an ordinary Hugging Face checkpoint with W = B C_l reconstructed, under the original tensor names and
// orientation (config.json without the compression section).
// Written one layer at a time, in shards of at most shardBytes (safetensors_shards.h).
void exportDense(const DecoderModel& model, const std::filesystem::path& out, const JobContext& job = {},
                 uint64_t shardBytes = kDefaultShardBytes);
// The files of that checkpoint written into `dir` (created), for a caller that assembles a folder of its own
// (the PEFT export puts the base model beside its adapter).
void writeDenseFiles(const DecoderModel& model, const std::filesystem::path& dir, const JobContext& job = {},
                     uint64_t shardBytes = kDefaultShardBytes);

// Copies tokenizer files (tokenizer.model, tokenizer.json, vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json, generation_config.json) that exist in `from`.
void copyTokenizerFiles(const std::filesystem::path& from, const std::filesystem::path& to);

// What a compressed folder of ours may hold beside the files it was written with (the pipeline's results.json).
OutputRules compressedModelRules();

} // namespace basis
