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
    std::filesystem::path text;
    int64_t samples = 16;            // 0 = every full chunk
    int64_t context = 256;
    std::string sampling = "sequential";
    uint64_t seed = 0;
    int64_t batch = 1;               // chunks per forward pass
    std::string bos = "auto";
    std::filesystem::path cacheDir;  // empty: no cache
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
    std::filesystem::path text;
    int64_t context = 256, stride = 0;
    std::string protocol = "window-mean";
    bool compressed = false;         // evaluate the compressed model instead of the dense one
};

struct PplSummary {
    std::string variant;             // "dense" or "compressed"
    double ppl = 0, pplWindowMean = 0, pplTokenMean = 0;
    int64_t tokens = 0, windows = 0, context = 0, stride = 0;
    std::string protocol;
    double seconds = 0;
};

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
    void saveCompressed(const std::filesystem::path& out, const JobContext& job);

    bool hasModel() const;
    bool hasCalibration() const;
    bool hasCompressed() const;

private:
    struct State;
    std::unique_ptr<State> m;
};

} // namespace basis::ui
