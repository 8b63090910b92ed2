#pragma once
// Fine-tuning a (compressed or dense) model on a text: what trains, the optimizer and its schedule, the budget,
// checkpoints; and what a run reports. Torch-free, so job options, results and the studio carry these as they are.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace basis {

struct TrainOptions {
    // coefficients: every C_l, projections left dense (a dense W is its own coefficient, B = I) and biases;
    // bases: the same and every basis (a shared basis is one tensor: it gets the sum of its layers' gradients);
    // lora: a rank-r adapter on each target projection, everything else frozen.
    std::string train = "coefficients";
    int64_t loraRank = 8;
    double loraAlpha = 16;            // the adapter is scaled by alpha / rank
    double loraDropout = 0;           // on the adapter's input, while training
    std::vector<std::string> loraTargets{"q", "v"};   // parts or modules (q, self_attn.q_proj, ...)

    int64_t steps = 0;                // optimizer steps; 0: as many as `tokens` needs
    int64_t tokens = 0;               // token budget (predicted tokens), when steps is 0
    double epochs = 0;                // passes over the text's chunks, when steps and tokens are 0
    int64_t context = 512;            // tokens per training chunk
    int64_t batch = 1;                // chunks per forward pass
    int64_t accumulation = 1;         // forward passes per optimizer step
    double lr = 1e-4;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0;
    int64_t warmup = 0;               // steps of linear warm-up from 0, then cosine decay to minLr
    double minLr = 0;
    double clip = 1.0;                // max global gradient norm; 0: no clipping
    uint64_t seed = 0;                // chunk order, adapter initialisation, dropout
    std::string precision = "float32";   // float32, bfloat16 (CPU autocast) or float64 (checks)
    int64_t evalEvery = 0;            // steps between evaluations (0: before and after only)
    int64_t evalContext = 512;        // perplexity windows of the evaluation text

    std::filesystem::path checkpoint; // file written every checkpointEvery steps and on a cancel (empty: none)
    int64_t checkpointEvery = 0;
    bool resume = false;              // continue from `checkpoint` when it exists
};

// One optimizer step as reported while training.
struct TrainStep {
    int64_t step = 0, steps = 0;      // 1-based step done, of steps
    int64_t tokens = 0;               // predicted tokens so far
    double loss = 0;                  // mean next-token cross-entropy of the step
    double lr = 0;
    double gradNorm = 0;              // before clipping
    double tokensPerSecond = 0, etaSeconds = 0;
    std::optional<double> evalPpl;    // at evaluation steps
};

struct TrainResult {
    std::vector<TrainStep> history;   // every step (a resumed run: the steps before the cancel too)
    int64_t steps = 0, tokens = 0;
    int64_t tokensPerStep = 0;
    int64_t trainableParameters = 0;  // tensors trained (adapters included)
    int64_t chunks = 0;               // training chunks of the text
    double finalLoss = 0;
    std::optional<double> pplBefore, pplAfter;
    double seconds = 0;               // this run's training time (without evaluations)
    double tokensPerSecond = 0;
    int64_t resumedFrom = 0;          // steps read from the checkpoint (0: a fresh run)
};

// The checks of options that need no model: budgets, rates, ranks, modes. Throws basis::Error naming the option.
void checkTrainOptions(const TrainOptions& options);

} // namespace basis
