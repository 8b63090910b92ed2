#pragma once
// What the fine-tuning tests share: random token ids, synthetic micro checkpoints, a Basis Sharing compression of
// one, and a small training run.
#include "compress.h"
#include "decoder_model.h"
#include "train_options.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace basis::test::train {

std::vector<int64_t> randomIds(int64_t n, uint64_t seed, int64_t vocab = 512);

// A synthetic checkpoint of `preset` (3 layers) in a scratch folder.
std::filesystem::path microModel(const std::string& preset);

// Basis Sharing at 30 %, g = 2 (shared bases) on statistics of random ids; the result is kept for saving.
struct Compressed {
    std::unique_ptr<basis::DecoderModel> model;
    basis::CompressionResult result;
};
Compressed compressedMicro(const std::filesystem::path& dir);

// 2 x 2 chunks of 32 tokens a step, lr 1e-2 with 2 warm-up steps; LoRA rank 4 on q, v and down.
basis::TrainOptions smallRun(const std::string& train, int64_t steps);

} // namespace basis::test::train
