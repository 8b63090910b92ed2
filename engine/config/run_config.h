#pragma once
// A whole headless run described in YAML: the published Basis Sharing keys (model_args, calibration_args,
// after_calibration_update_args, model_saving, lora_args) plus our own `basis_studio` section for what they
// lack. Torch-free: reading, validating, resolving defaults and writing.
#include "quant_settings.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace basis {

struct PplEvaluation {
    std::string dataset;        // wikitext2 | ptb | c4 | tinystories, resolved through data_dir ...
    std::string text;           // ... or a text file
    int64_t context = 0;        // 0: model_args.context_length
    int64_t stride = 0;         // 0: model_args.stride
    std::string protocol = "window-mean";
    std::string passes = "auto";   // auto, whole or layerwise (perplexity.h)
    // Dynamic rank (rank_strategy.h): rank_strategy, rank_budget, rank_energy, prompt_tokens; empty = as stored.
    std::string rankStrategy;
    double rankBudget = 0, rankEnergy = 0;
    int64_t promptTokens = 64;
    bool operator==(const PplEvaluation& o) const;
};

struct ThroughputEvaluation {
    int64_t promptLen = 128;    // prefill tokens
    int64_t genLen = 64;        // decoded tokens (KV cache)
    int64_t repeats = 3;        // timed runs after one warm-up; medians reported
    std::string rankStrategy;   // dynamic rank of the decode steps, as PplEvaluation's
    double rankBudget = 0, rankEnergy = 0;
    bool operator==(const ThroughputEvaluation& o) const;
};

struct TasksEvaluation {
    std::string task;           // hellaswag, arc_easy, ... (multiple_choice_tasks.h)
    std::string data;           // JSONL file
    int64_t limit = 0;          // first N items; 0 = all
    bool operator==(const TasksEvaluation& o) const;
};

// `sweep:` (ours): a list of settings, each compressed from one calibration and evaluated with basis_studio.evaluate,
// written as it finishes to a results file (engine/jobs/sweep.h). Every method x (budget x allocator, and ratio)
// x group size (group sizes only for methods that group layers).
struct SweepSpec {
    std::vector<std::string> methods;            // registered names; empty: basis_studio.method
    std::vector<double> budgets;                 // exact budgets, % of the target projections removed ...
    std::vector<double> ratios;                  // ... and/or the published ratio rule (allocator uniform)
    std::vector<int64_t> groupSizes;             // empty: model_args.group_size
    std::vector<std::string> allocators{"uniform"};   // with budgets: uniform, greedy, loss
    bool dense = true;                           // the dense model's record first
    std::string results;                         // results.jsonl (the CSV beside it: results.csv); required
    bool operator==(const SweepSpec& o) const;
};

struct RunConfig {
    // model_args (published)
    std::string modelType;                               // informational; checked against config.json when given
    std::string modelName;                               // a Hugging Face name in the published configs
    std::map<std::string, std::string> projectionNames;  // k_name: self_attn.k_proj, ... (label -> module)
    int64_t groupSize = 1;
    double compressionRatio = 20;
    int64_t contextLength = 512;
    int64_t stride = 512;
    std::vector<std::string> sharePart, privatePart;
    // calibration_args (published)
    std::string datasetName;                             // wikitext | ptb | c4 | tinystories
    bool buildCalib = true;
    std::string calibPath;                               // calibration cache folder
    int64_t calibrationSize = 0;                         // samples; 0 = every full chunk
    int64_t calibBatchSize = 1;
    std::string datasetCacheDir;
    // after_calibration_update_args (published)
    bool update = false;
    bool buildUpdateCalib = true;
    std::string updateCalibPath;
    // model_saving (published)
    bool saveUntrainedModel = true;
    std::string untrainedModelPath;
    bool saveUpdatedModel = true;
    std::string updatedModelPath;
    // lora_args (published): present, fine-tuning runs as a stage after the compression (and its update)
    bool loraRequested = false;
    bool saveLora = true;                                // save the healed model to lora_output_dir
    int64_t loraR = 8;
    double loraAlpha = 32;
    std::string loraOutputDir;
    int64_t loraTrainBatchSize = 1;
    double loraLearningRate = 1e-4;                      // constant, as the published trainer's schedule
    double loraTrainEpoch = 2;                           // passes over the fine-tuning text
    std::string loraRunName;
    // basis_studio (ours)
    std::string modelPath;                               // a folder, builtin:NAME or org/name[@rev] (model_location.h)
    std::string method = "basis-sharing";
    std::string allocator = "uniform";                   // with a budget: uniform, greedy or loss
    double budget = 0;                                   // exact % of the target projections removed (0: the ratio rule)
    QuantSettings quant;                                 // bits, rank, q_step, iters, factor_dtype (caldera, rtn, gptq)
    std::string calibrationText;                         // overrides calibration_args.dataset_name
    std::string updateText;                              // default: the calibration text
    std::string dataDir;                                 // where dataset names resolve
    std::string sampling = "sequential";
    uint64_t seed = 0;
    std::string bos = "auto";
    std::string device = "auto";
    std::string dtype = "float32";
    int threads = 0;
    std::string weights = "device";                      // device | host (run_options.h)
    std::string activations = "auto";                    // auto | memory | disk (activation_store.h)
    std::vector<PplEvaluation> evaluations;
    std::vector<ThroughputEvaluation> throughput;        // `throughput:` entries of basis_studio.evaluate
    std::vector<TasksEvaluation> tasks;                  // `tasks:` entries (zero-shot multiple choice)
    std::string resultsPath;                             // default: results.json in the saved model folder
    // feature-space methods (utilized, hybrid, weight-svd, sfsd): energy | fraction | ranks, and the policy
    std::optional<double> energy, fraction;
    std::string ranks;                                   // a ranks JSON (docs/RANKS_FILE.md)
    std::string policy = "uniform";
    // basis_studio keys of the fine-tuning stage (what lora_args lacks)
    std::string finetuneTrain = "lora";                  // lora, coefficients or bases
    std::string finetuneText;                            // default: the calibration text
    std::string finetuneEvalText;                        // perplexity before, after (and every finetune_eval_every)
    int64_t finetuneEvalEvery = 0;
    std::string finetunePeftOut;                         // lora: the adapters also in PEFT's layout (empty: not)
    int64_t finetuneSteps = 0, finetuneTokens = 0;       // budgets that replace lora_train_epoch when set
    std::vector<std::string> loraTargets{"q", "v"};      // PEFT's default for LLaMA (labels resolve through *_name)
    double loraDropout = 0;
    // The loss-aware allocator's search text and windows (default: the calibration text, 8 windows)
    std::string allocatorText;
    int64_t allocatorWindows = 8;
    // The saved model's safetensors shards: at most this size each ("5GB", "500MB"; one model.safetensors when all fits)
    std::string shardSize = "5GB";
    // How a calibration cache written by the run (calib_path) stores x^T x: float64 or float32
    std::string statisticsDtype = "float64";
    std::optional<SweepSpec> sweep;                      // `sweep:` section: what `basis-cli sweep` runs

    bool operator==(const RunConfig& o) const;
};

struct ConfigMessage {
    enum class Level { Warning, Error } level;
    std::string text;           // "FILE:LINE:COLUMN: ..." ready to print
};

struct LoadedConfig {
    RunConfig config;
    std::vector<ConfigMessage> warnings;
};

// Reads a YAML file. Unknown keys are warnings naming the key and line; malformed YAML, wrong types and missing
// required keys throw basis::Error with file, line and column. `overrides` are "section.key=value" strings
// applied on top (value parsed as YAML), as `--set` gives them.
LoadedConfig loadRunConfig(const std::filesystem::path& file, const std::vector<std::string>& overrides = {});
LoadedConfig parseRunConfig(const std::string& yaml, const std::string& source,
                            const std::vector<std::string>& overrides = {});

// The fully resolved configuration as YAML that loadRunConfig reads back to an equal RunConfig.
std::string writeRunConfig(const RunConfig& config, const std::string& comment = {});

// Relative paths in a config are relative to the config file's folder; this makes them absolute, so a written
// config reproduces the run from anywhere. builtin:NAME and Hub names (org/name, when the config's folder has no
// such subfolder) stay as they are: they mean the same on every machine.
void resolvePaths(RunConfig& config, const std::filesystem::path& base);

// Data files of named datasets under a data directory: calibration (train split where there is one) and
// evaluation (test split). Throws basis::Error naming the dataset and the file looked for.
std::filesystem::path datasetFile(const std::string& name, const std::string& split, const std::filesystem::path& dataDir);

} // namespace basis
