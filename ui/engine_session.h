#pragma once
// Everything the GUI asks of the engine, behind an interface with no LibTorch and no Qt types: the worker
// (a Qt translation unit) includes this header, the implementation includes LibTorch and no Qt, so Qt's
// `slots` macro never meets torch headers (TOOLCHAIN.md, pitfall 2). Not thread-safe: one thread owns it.
#include "compression_plan.h"
#include "model_config.h"
#include "progress.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <tuple>
#include <memory>
#include <string>
#include <vector>

namespace basis {
class DecoderModel;
}

namespace basis::ui {

enum class Severity { Info, Warning, Error };
using LogFn = std::function<void(Severity, const std::string&)>;

struct ModelSummary {
    std::filesystem::path dir;
    ModelConfig config;
    std::string dtype;               // compute dtype in memory ("float32"); config.torchDtype is the file's
    std::string device;
    int64_t parameters = 0;          // distinct parameters of the loaded weights
    std::string tokenizer;           // tokenizer kind, or empty when the folder has none
    bool synthetic = false;          // random weights written by the synthetic writer
    bool compressed = false;         // the folder is itself a compressed model
};

struct CalibrationSetup {
    std::filesystem::path text;      // the file read (for a preset: its train split, shown to the user)
    std::string dataset;             // a preset: the text is its recipe's join of `text` (datasets.h)
    std::filesystem::path dataDir;
    int64_t samples = 16;            // 0 = every full chunk
    int64_t context = 256;
    std::string sampling = "sequential";
    uint64_t seed = 0;
    int64_t batch = 1;               // chunks per forward pass
    std::string bos = "auto";
    std::filesystem::path cacheDir;  // empty: no cache
    std::string device = "cpu";      // cpu | cuda:N: where the calibration forward passes run
};

struct CalibrationSummary {
    int64_t samples = 0, tokens = 0;
    bool reused = false;             // a matching cache was loaded
    double seconds = 0;
    std::filesystem::path cacheDir;
};

struct GroupSummary {
    std::string part;
    std::vector<int64_t> layers;
    int64_t k = 0;
    double energy = 0;               // fraction of sum(s^2) kept; 0 for plain svd without statistics
};

struct CompressionSummary {
    CompressionSettings settings;
    int64_t modelBefore = 0, modelAfter = 0, targetBefore = 0, targetAfter = 0;
    std::vector<GroupSummary> groups;
    double seconds = 0;
};

// Singular values of S W_G for every part and group at some group sizes: what the energy kept of any ratio at
// those sizes is read from, on the GUI thread, without touching the model.
struct SpectraSummary {
    std::map<std::tuple<int64_t, std::string, int64_t>, std::vector<double>> values;   // (g, part, group) -> s
};

struct PplSetup {
    std::filesystem::path text;      // a text file ...
    std::string dataset;             // ... or a dataset preset (wikitext2, ptb, c4, tinystories) under dataDir
    std::filesystem::path dataDir;
    int64_t context = 256, stride = 0;
    std::string protocol = "window-mean";
    bool compressed = false;         // evaluate the compressed model instead of the dense one
};

// Which model a result was measured on, for the results table and the Pareto plot.
struct ModelVariant {
    std::string variant;             // "dense" or "compressed"
    std::string method;              // "dense", or the compression method
    double ratio = 0;                // compression settings (0 for dense)
    int64_t groupSize = 0;
    int64_t parameters = 0;          // distinct parameters of that model
    int64_t denseParameters = 0;     // of the dense model, for "parameters kept (%)"
};

struct PplSummary {
    std::string variant;             // "dense" or "compressed"
    double ppl = 0, pplWindowMean = 0, pplTokenMean = 0;
    int64_t tokens = 0, windows = 0, context = 0, stride = 0;
    std::string protocol;
    double seconds = 0;
    ModelVariant model;
    std::string source;              // dataset preset name or text file name
};

struct ThroughputSetup {
    int64_t batch = 1, promptLen = 128, genLen = 64, warmup = 1, repeats = 3;
    bool compressed = false;
};

struct ThroughputSummary {
    ModelVariant model;
    ThroughputSetup setup;
    double prefillTokensPerSecond = 0, decodeTokensPerSecond = 0, timeToFirstTokenSeconds = 0;
    int64_t peakMemoryBytes = 0;     // 0 when the engine could not measure it
    double multiplyAddsPerToken = 0;
    double seconds = 0;
};

// A zero-shot multiple-choice task file scored like lm-evaluation-harness (basis::evaluateMultipleChoice).
struct TasksSetup {
    std::string task = "hellaswag";  // a basis::mcTasks() name
    std::filesystem::path data;      // JSONL, one document per line
    int64_t limit = 0;               // first N documents; 0 = all
    int64_t batch = 32;              // choices per forward pass
    bool compressed = false;
};

struct TasksSummary {
    ModelVariant model;
    TasksSetup setup;
    int64_t items = 0;
    double acc = 0, accNorm = 0;
    double accStderr = -1, accNormStderr = -1;   // -1: not defined (a single item)
    bool reportsAccNorm = true;      // lm-eval reports acc_norm for this task (not winogrande, boolq)
    int64_t requests = 0, forwards = 0, truncated = 0;
    double seconds = 0;
};

// Where the engine can run, asked of LibTorch without the caller including it.
struct ComputeDevices {
    bool cudaBuilt = false;          // this LibTorch build has CUDA support
    int cudaCount = 0;               // CUDA devices found
    std::string libtorchVersion;     // TORCH_VERSION of the LibTorch compiled against ("1.13.1")
};

struct GenerateSetup {
    std::string prompt;
    int64_t maxNewTokens = 64;
};

// One model's continuation of the prompt: the dense model's, then the compressed one's when there is one.
struct GenerationOutput {
    ModelVariant model;
    std::string text;                // the prompt's continuation only (decoded new tokens)
    int64_t promptTokens = 0, newTokens = 0;
    double prefillSeconds = 0, decodeSeconds = 0;
    bool finished = false;           // false while streaming
};
// Called on the engine thread with the output so far (streaming) and when it is complete.
using GenerationFn = std::function<void(const GenerationOutput&)>;

class EngineSession {
public:
    EngineSession();
    ~EngineSession();
    EngineSession(const EngineSession&) = delete;
    EngineSession& operator=(const EngineSession&) = delete;

    // Each call may throw basis::Error (basis::Cancelled when the job's token fires).
    ModelSummary loadModel(const std::filesystem::path& dir, const JobContext& job);
    // Writes a randomly initialised checkpoint of a preset shape (llama-micro, gpt2-micro, ...) and loads it.
    ModelSummary makeDemoModel(const std::string& preset, const std::filesystem::path& dir,
                               const std::filesystem::path& tokenizerDir, const JobContext& job);
    CalibrationSummary calibrate(const CalibrationSetup& setup, const JobContext& job, const LogFn& log);
    CompressionSummary compress(const CompressionSettings& settings, const JobContext& job);
    // Needs calibration statistics (whitened spectra).
    SpectraSummary computeSpectra(const std::vector<int64_t>& groupSizes, const JobContext& job);
    PplSummary evaluatePerplexity(const PplSetup& setup, const JobContext& job);
    ThroughputSummary measureThroughput(const ThroughputSetup& setup, const JobContext& job);
    // Task-file errors name the file and line (basis::readMcTaskFile).
    TasksSummary evaluateTasks(const TasksSetup& setup, const JobContext& job);
    // Greedy continuation by the dense model and, when one exists, the compressed model; returns both outputs.
    std::vector<GenerationOutput> generate(const GenerateSetup& setup, const JobContext& job, const GenerationFn& onUpdate);
    void saveCompressed(const std::filesystem::path& out, const JobContext& job);

    // Cheap and thread-safe: callable from the GUI thread.
    static ComputeDevices computeDevices();

    bool hasModel() const;
    bool hasCalibration() const;
    bool hasCompressed() const;

private:
    ModelVariant variant(bool compressed) const;   // throws when that model does not exist
    const DecoderModel& modelFor(bool compressed) const;   // the same check

    struct State;
    std::unique_ptr<State> m;
};

} // namespace basis::ui
