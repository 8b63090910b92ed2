#pragma once
// The training loop: next-token cross-entropy on chunks of a token stream (shuffled with the seed), AdamW with
// linear warm-up and cosine decay, gradient clipping, batches with gradient accumulation, a step or token budget,
// evaluation perplexity every N steps, checkpoints that resume exactly, progress and cancel.
#include "progress.h"
#include "train_options.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace basis {

class DecoderModel;
struct PeftAdapterExport;

using TrainStepFn = std::function<void(const TrainStep&)>;

// Optimizer steps of a run: options.steps, else the token budget over the tokens of one step, else the epochs of
// the text's chunks over the chunks of one step (rounded up).
int64_t trainSteps(const TrainOptions& options, int64_t textTokens);

// Trains `model` in place (its tensors become ordinary copies first, DecoderModel::makeTrainable) and leaves it
// frozen, in inference mode, LoRA adapters merged. evalIds empty: no evaluation. On a cancel the checkpoint (when
// one is set) holds the last finished step, then basis::Cancelled is thrown. `onStep` sees every step. `peft`
// (lora runs): filled with the adapters in PEFT's layout (peft_export.h) before they are merged.
TrainResult finetuneModel(DecoderModel& model, const std::vector<int64_t>& trainIds, const std::vector<int64_t>& evalIds,
                          const TrainOptions& options, const JobContext& job = {}, const TrainStepFn& onStep = {},
                          PeftAdapterExport* peft = nullptr);

} // namespace basis
