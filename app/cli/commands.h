#pragma once
// Arguments of each basis-cli command (filled by main.cpp's CLI11 parser) and the functions that run them.
// Each returns the process exit status; errors are thrown as basis::Error and printed by main.
#include <cstdint>
#include <string>
#include <vector>

namespace basis::cli {

struct CommonRun {
    std::string device = "auto";
    std::string dtype = "float32";
    int threads = 0;
};

struct InspectArgs {
    std::string model;
    bool json = false;
    // A hypothetical compression setting to account for (ratio 0 = none).
    double ratio = 0;
    int64_t groupSize = 1;
    std::string method = "basis-sharing";
    std::vector<std::string> share, privateParts;
    std::string calib;               // a calibration cache with spectra: print the energy kept
};

struct CalibArgs {
    std::string text;
    int64_t samples = 0, context = 512, batch = 1;
    std::string sampling = "sequential", bos = "auto";
    uint64_t seed = 0;
};

struct CalibrateArgs {
    std::string model, out;
    CalibArgs calib;
    CommonRun run;
    std::vector<int64_t> spectra{1, 2};   // group sizes whose spectra are stored with the cache
    bool force = false;
    bool json = false;
};

struct CompressArgs {
    std::string model, calibDir, out, method = "basis-sharing", updateText;
    CalibArgs calib;
    double ratio = 0;
    int64_t groupSize = 1;
    std::vector<std::string> share, privateParts;
    bool update = false;
    CommonRun run;
    bool json = false;
};

struct ExportArgs {
    std::string model, out;
    bool dense = false;
};

struct RecoverArgs {
    std::string out;
    bool json = false;
};

struct PplArgs {
    std::string model, text;
    std::string dataset, dataDir, split = "test";   // a preset instead of --text
    int64_t maxDocuments = 0;
    int64_t context = 512, stride = 0;
    std::string protocol = "window-mean", bos = "auto";
    CommonRun run;
    bool json = false;
};

struct ThroughputArgs {
    std::string model, compare;
    int64_t batch = 1, promptLen = 128, genLen = 64, warmup = 1, repeats = 5;
    CommonRun run;
    bool json = false;
};

struct GenerateArgs {
    std::string model, prompt;
    int64_t maxNewTokens = 64;
    bool ignoreEos = false;
    CommonRun run;
    bool json = false;
};

struct SynthArgs {
    std::string shape, out, tokenizer;
    uint64_t seed = 0;
    // Overrides of the preset's sizes; 0 keeps the preset's value.
    int64_t layers = 0, hidden = 0, heads = 0, kvHeads = 0, intermediate = 0, vocab = 0, maxPositions = 0;
};

struct BenchArgs {
    std::string model;
    int64_t context = 1024;
    std::vector<int> threads{1, 2};
    int repeats = 3;
    std::string dtype = "float32";
    bool json = false;
};

struct TasksArgs {
    std::string model, task, data;
    int64_t limit = 0;               // first N items (0 = all)
    int64_t batch = 32;              // choices per forward pass
    std::string bos = "never";       // lm-eval's HF default (add_bos_token=False); auto follows the tokenizer
    CommonRun run;
    bool json = false;
    bool jsonPretty = false;         // the same object indented, for reading (not one line)
};

struct ConfigArgs {
    std::string config;
    std::vector<std::string> set;   // section.key=value overrides
    bool json = false;
};

int runConfigCheck(const ConfigArgs& a);
int runPipelineCommand(const ConfigArgs& a);
int runInspect(const InspectArgs& a);
int runCalibrate(const CalibrateArgs& a);
int runCompress(const CompressArgs& a);
int runExport(const ExportArgs& a);
int runEvalPpl(const PplArgs& a);
int runEvalTasks(const TasksArgs& a);
int runEvalThroughput(const ThroughputArgs& a);
int runGenerate(const GenerateArgs& a);
int runSynth(const SynthArgs& a);
int runRecover(const RecoverArgs& a);
int runBenchForward(const BenchArgs& a);
int runBenchPlan();

} // namespace basis::cli
