#pragma once
// What each job of the engine takes, with its defaults stated once: the CLI's flags and --help, the YAML keys and
// the studio's initial control values all start from these. Torch-free, so the studio carries them as they are.
#include "compression_plan.h"
#include "safetensors_shards.h"
#include "train_options.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace basis {

// Where and how a model runs.
struct RunSetup {
    std::string device = "auto";     // auto (CUDA when LibTorch has it), cpu, cuda, cuda:N
    std::string dtype = "float32";   // float32 or bfloat16
    int threads = 0;                 // 0 = every CPU this process may use
    std::string weights = "device";  // device, or host: layers stay in CPU memory, copied to the device a layer at a time
};

// The calibration text (a file, or a dataset preset's train split) and how it is cut into chunks.
struct CalibrateOptions {
    std::filesystem::path text;      // a text file read as it is ...
    std::string dataset;             // ... or a preset (wikitext2, ptb, c4, tinystories) under dataDir
    std::filesystem::path dataDir;
    int64_t samples = 0;             // chunks; 0 = every full chunk
    int64_t context = 512;           // tokens per chunk
    std::string sampling = "sequential";   // or random (with seed)
    uint64_t seed = 0;
    int64_t batch = 1;               // chunks per forward pass
    std::string bos = "auto";        // auto, always, never: BOS once at the start of the text
    std::filesystem::path cacheDir;  // empty: no cache; else reused when it matches, written when not
    bool force = false;              // recompute even when the cache matches
    bool recomputeOnMismatch = false;// a cache of other text or settings is recomputed (studio) instead of refused
    std::vector<int64_t> spectra;    // group sizes whose spectra are stored with the cache
    // How the cache stores H: float64 (exact) or float32 (half the disk and mapped memory; see README). Without a
    // cache the statistics stay float64 in memory.
    std::string statisticsDtype = "float64";
    std::string device;              // empty: the loaded model's device; cuda:N runs the passes on a GPU copy
    // Where a calibration into a cache keeps the activations of every sample: auto (disk when they exceed half
    // the memory available), memory or disk (a scratch file beside the cache, activation_store.h).
    std::string activations = "auto";
};

// Compression, with the optional coefficient refit (update) that runs on statistics of the compressed model.
struct CompressOptions {
    CompressionSettings settings;
    // The update's statistics: this text (or preset) through the compressed model, cut like the calibration.
    // Empty text and dataset: the calibration text.
    std::filesystem::path updateText;
    std::string updateDataset;
    std::filesystem::path updateCacheDir;   // a cache for the update statistics (empty: none)
    // How the update reads its text (cut, BOS; and the text itself when updateText and updateDataset are empty).
    // Unset: as the calibration did. Needed when the statistics came from a cache or the method needed none (svd).
    std::optional<CalibrateOptions> updateCalibration;
    std::string device;              // where the compressed copy lives and is factorized (empty: the model's device)
    // The loss allocator (settings.allocator "loss"): the text its candidates' loss is measured on (empty: the
    // calibration text) and how many windows of the calibration's context it reads.
    std::filesystem::path allocatorText;
    int64_t allocatorWindows = 8;
    // The saved folder's safetensors shards, at most this many bytes each (safetensors_shards.h).
    uint64_t shardBytes = kDefaultShardBytes;
};

// Dynamic rank at run time (engine/core/rank_strategy.h) on a factorized model. An empty strategy runs the model as
// stored (the usual evaluation); any strategy, baseline included, runs perplexity with the prompt protocol.
struct RankJobOptions {
    std::string strategy;            // "", baseline, global-static, prompt-adaptive, per-token
    double budget = 0;               // rho, the share of rank channels (0 = unset)
    double energy = 0;               // tau, the share of energy kept (0 = unset)
    int64_t promptTokens = 64;       // perplexity: full-rank, unscored prompt of each window
    bool active() const { return !strategy.empty(); }
};

struct PerplexityJobOptions {
    std::filesystem::path text;      // a text file ...
    std::string dataset;             // ... or a preset under dataDir
    std::filesystem::path dataDir;
    std::string split = "test";      // test, valid or train
    int64_t maxDocuments = 0;        // c4: the first N documents (0 = all)
    int64_t context = 512;
    int64_t stride = 0;              // 0 = the context (disjoint windows)
    std::string protocol = "window-mean";   // or token-mean
    std::string bos = "auto";
    int64_t batch = 0;               // windows per forward pass; 0 = automatic (same numbers, faster)
    std::string passes = "auto";     // auto, whole or layerwise (perplexity.h PplPasses; the same numbers)
    bool compressed = false;         // the compressed model instead of the dense one
    RankJobOptions rank;
};

struct ThroughputJobOptions {
    int64_t batch = 1, promptLen = 128, genLen = 64, warmup = 1, repeats = 5;
    bool compressed = false;
    RankJobOptions rank;             // prefill at full rank (prompt-adaptive chooses S), decode under the strategy
};

// The masks of a dynamic-rank strategy over a text (the studio's heatmaps, `eval masks`).
struct RankMasksJobOptions {
    std::string text;                // the prompt itself (not a file)
    std::string bos = "auto";
    bool compressed = false;
    RankJobOptions rank{"per-token", 0, 0.95, 64};
};

struct TasksJobOptions {
    std::string task = "hellaswag";  // a mcTasks() name
    std::filesystem::path data;      // JSONL, one document per line
    int64_t limit = 0;               // first N documents; 0 = all
    int64_t batch = 32;              // choices per forward pass
    std::string bos = "never";       // lm-evaluation-harness's Hugging Face default
    bool compressed = false;
};

struct GenerateJobOptions {
    std::string prompt;              // empty: start from BOS
    int64_t maxNewTokens = 64;
    bool ignoreEos = false;
    bool bothModels = true;          // the dense model, then the compressed one when there is one
    bool compressed = false;         // with bothModels false: which one
    RankJobOptions rank;             // the factorized model(s) only; the prompt at full rank
};

// Fine-tuning the compressed copy (when the workspace made one) or the loaded model (dense, or a compressed folder).
struct FinetuneJobOptions {
    std::filesystem::path text;      // the training text (a file) ...
    std::string dataset;             // ... or a preset's train split under dataDir; neither: the calibration text
    std::filesystem::path dataDir;
    std::filesystem::path evalText;  // evaluated every train.evalEvery steps and before/after (empty: none)
    std::string bos = "auto";        // BOS once at the start of each text
    TrainOptions train;
    std::filesystem::path out;       // the healed model's folder (empty: kept in the workspace only)
    std::string runName;             // recorded with the training (YAML lora_args.lora_run_name)
    std::filesystem::path peftOut;   // lora runs: the adapters also in PEFT's layout (peft_export.h); empty: not
};

} // namespace basis
