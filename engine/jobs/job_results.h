#pragma once
// What each job of the engine returns. Torch-free: the studio carries these across threads as they are.
#include "compression_plan.h"
#include "model_config.h"
#include "multiple_choice.h"
#include "dynamic_rank_eval.h"
#include "perplexity.h"
#include "throughput.h"
#include "train_options.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace basis {

struct ModelSummary {
    std::filesystem::path dir;
    ModelConfig config;
    std::string dtype;               // compute dtype in memory ("float32"); config.torchDtype is the file's
    std::string device;
    std::string weights;             // where the layers' weights are: "device" or "host" (run_options.h)
    int threads = 0;                 // CPU threads LibTorch runs with
    int64_t parameters = 0;          // distinct parameters of the loaded weights
    std::string tokenizer;           // tokenizer kind, or empty when the folder has none
    bool synthetic = false;          // random weights written by the synthetic writer
    bool compressed = false;         // the folder is itself a compressed model
};

struct CalibrationSummary {
    int64_t samples = 0, tokens = 0;
    bool reused = false;             // a matching cache was loaded
    bool spectraWritten = false;     // spectra were computed and stored with the cache
    bool activationsOnDisk = false;  // the activations were kept in a scratch file (CalibrateOptions::activations)
    int64_t activationBytes = 0;
    double seconds = 0;
    std::filesystem::path cacheDir;
    nlohmann::json record;           // what a saved model records: fingerprints, settings, text, cache
};

struct GroupSummary {
    std::string part;
    std::vector<int64_t> layers;
    int64_t k = 0;
    double energy = 0;               // fraction of sum(s^2) kept; 0 for plain svd without statistics
    std::vector<double> iterationErrors;   // quantizing methods: relative H-error after each iteration
    int64_t bestIteration = -1;            // the kept one
};

// One allocation the loss allocator measured (rank_allocation.h).
struct AllocatorCandidate {
    std::string label;               // "uniform", "greedy", "uniform, down removes x0.5", ...
    int64_t keptWeights = 0;         // target projections' weights kept
    double loss = 0;                 // mean NLL per token on the search text
    bool chosen = false;
};

struct CompressionSummary {
    CompressionPlan plan;            // its part specs point into the workspace's model: read while it lives
    CompressionSettings settings;    // as resolved (an allocator's ranks in groupRanks)
    CompressionSettings requested;   // as asked: what the studio's live counts compare their setting against
    std::vector<AllocatorCandidate> allocatorCandidates;   // the loss allocator's, in the order measured
    int64_t modelBefore = 0, modelAfter = 0, targetBefore = 0, targetAfter = 0;
    std::vector<GroupSummary> groups;
    bool refitted = false;           // the coefficient update ran
    double factorizeSeconds = 0, refitSeconds = 0, seconds = 0;
    nlohmann::json section;          // config.json's "compression" section (the pipeline's results file carries it)
};

// Singular values of S W_G for every part and group at some group sizes: what the energy kept of any ratio at
// those sizes is read from without touching the model.
struct SpectraSummary {
    std::map<std::tuple<int64_t, std::string, int64_t>, std::vector<double>> values;   // (g, part, group) -> s
};

// One projection as a feature-space plan decides it (feature_space_plan.h's ProjectionRank, by part name), with the
// spectra its rank is read from.
struct FeatureProjection {
    std::string part;
    int64_t layer = 0, m = 0, d = 0, kappa = 0;
    int64_t chosen = 0;              // energy, fraction or file rank before the policy (kDenseRank: the file says dense)
    int64_t rank = 0;                // after the policy
    bool dense = false, flipped = false;
    double utilization = 0;          // chosen / min(m, d)
    double energy = 0;               // of `output` kept at `rank`
    // What the method measures energy on, descending: eigenvalues of G_y = W G W^T (utilized, hybrid), of
    // C_y = W C_x W^T (sfsd), squared singular values of W (weight-svd).
    std::vector<double> output;
    std::vector<double> input;       // eigenvalues of G (C_x for sfsd), descending; empty without statistics
};

// The feature-space view of a setting: ranks, utilization and spectra of every target projection, without
// compressing anything.
struct FeatureSpaceSummary {
    CompressionSettings settings;    // the ranks resolved (FeatureSpaceSettings::ranks)
    std::vector<std::string> parts;  // target parts, the architecture's order
    int64_t layers = 0;
    std::vector<FeatureProjection> projections;   // layer-major, parts in `parts` order
    double mlu = 0;                  // mean utilization over the target projections
    int64_t flips = 0;               // projections the policy made dense
};

// Which model a result was measured on, for result tables and the Pareto plot.
struct ModelVariant {
    std::string variant;             // "dense" or "compressed"
    std::string method;              // "dense", or the compression method
    double ratio = 0;                // compression settings (0 for dense)
    double budget = 0;               // an exact budget (%) instead of the ratio's rule; 0: none
    std::string allocator;           // with a budget: uniform, greedy or loss
    int64_t groupSize = 0;
    int64_t parameters = 0;          // distinct parameters of that model
    int64_t denseParameters = 0;     // of the dense model, for "parameters kept (%)"
    int64_t bytes = 0;               // as stored (the plan's bytes: dense tensors at their element size, packed
    int64_t denseBytes = 0;          //  integers of quantizers); the Pareto view's MB axis
    std::string healed;              // what fine-tuning trained (coefficients, bases, lora); empty: not fine-tuned
};

struct PerplexitySummary {
    ModelVariant model;
    PplResult result;
    std::string source;              // dataset preset name or text file name
    std::filesystem::path file;      // the file read
    std::string recipe;              // how the text was made from it (datasets.h)
    bool bosAdded = false;
    std::optional<RankRunStatistics> rank;   // under a dynamic-rank strategy (the prompt protocol)
    int64_t promptTokens = 0, skippedWindows = 0;
};

struct ThroughputSummary {
    ModelVariant model;
    ThroughputResult result;
    double seconds = 0;
    std::optional<RankRunStatistics> rank;   // under a dynamic-rank strategy: what the decode tokens spent
};

struct RankMasksSummary {
    ModelVariant model;
    RankMaskCapture capture;
    std::vector<std::string> tokens;  // each token's text, as the tokenizer decodes it alone
};

struct TasksSummary {
    ModelVariant model;
    McResult result;
    std::string task;
    std::filesystem::path data;
    int64_t originalItems = 0;       // documents in the file (before the limit)
};

// One model's continuation of the prompt.
struct GenerationOutput {
    ModelVariant model;
    std::string text;                // the prompt's continuation only
    std::string promptText;          // the prompt's tokens decoded: what `text` follows when printed (streaming)
    std::string wholeText;           // the prompt and its continuation, decoded together
    std::vector<int64_t> tokens;     // the prompt's tokens, then the new ones
    int64_t promptTokens = 0, newTokens = 0;
    double prefillSeconds = 0, decodeSeconds = 0;
    std::optional<RankRunStatistics> rank;   // generated under a dynamic-rank strategy
    bool finished = false;           // false while streaming
};

// Where the engine can run, asked of LibTorch without the caller including it.
struct ComputeDevices {
    bool cudaBuilt = false;          // this LibTorch build has CUDA support
    int cudaCount = 0;               // CUDA devices found
    std::string libtorchVersion;     // TORCH_VERSION of the LibTorch compiled against ("1.13.1")
};

struct FinetuneSummary {
    TrainResult result;
    bool compressed = false;         // the model trained is factorized
    int64_t parametersBefore = 0, parametersAfter = 0;   // distinct parameters (the same: shapes do not change)
    int64_t textTokens = 0, evalTokens = 0;
    std::string text, evalText;      // what was read
    nlohmann::json record;           // config.json's "finetune" entry
    std::filesystem::path out;       // empty when not saved
    std::filesystem::path peftOut;   // the PEFT adapter folder, empty when not written
};

} // namespace basis
