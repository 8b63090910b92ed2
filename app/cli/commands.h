#pragma once
// Arguments of each basis-cli command (filled by main.cpp's CLI11 parser) and the functions that run them.
// Each returns the process exit status; errors are thrown as basis::Error and printed by main.
// The commands that run engine jobs carry the jobs' own options (job_options.h), whose defaults --help shows;
// beside them only what the command line alone has (the model spec, --out, --json).
#include "job_options.h"
#include "rank_search_options.h"

#include <cstdint>
#include <string>
#include <vector>

namespace basis::cli {

struct InspectArgs {
    std::string model;
    bool json = false;
    // A hypothetical compression setting to account for (ratio 0 = none).
    double ratio = 0;
    int64_t groupSize = 1;
    std::string method = "basis-sharing";
    std::vector<std::string> share, privateParts;
    std::string calib;               // a calibration cache with spectra: print the energy kept
    QuantSettings quant;             // --bits, --rank, --q-step, --iters of a quantizing method's plan
};

struct CalibrateArgs {
    std::string model, out;          // out: the cache folder
    CalibrateOptions calib;
    RunSetup run;
    std::vector<int64_t> spectra{1, 2};   // group sizes whose spectra are stored with the cache (0: none)
    bool json = false;
};

struct CompressArgs {
    std::string model, calibDir, out;
    std::string method;              // the name of compress.settings.method (parsed after the command line)
    CalibrateOptions calib;          // used with --text
    CompressOptions compress;
    RunSetup run;
    bool json = false;
    std::vector<std::string> methodFlags;   // --ratio, --bits, ... as given: each must be a setting of the method
    std::vector<std::string> partWeights;   // --part-weight part=w (greedy allocator)
    std::string ranksOut;                   // --ranks-out FILE: the ranks chosen, as a ranks file
    std::string shardSize = "5GB";          // --shard-size: parsed into compress.shardBytes
};

struct SearchArgs {
    std::string model;
    std::string calib;               // a calibration text file, or a calibration cache folder
    CalibrateOptions calibration;    // how a text is cut (--context also sets the search windows)
    SearchOptions search;
    RunSetup run;
    bool json = false;
};

struct ExportArgs {
    std::string model, out;
    bool dense = false;
    std::string shardSize = "5GB";
    bool json = false;
};

struct RecoverArgs {
    std::string out;
    bool json = false;
};

struct PplArgs {
    std::string model;
    PerplexityJobOptions ppl;
    RunSetup run;
    bool json = false;
};

struct MasksArgs {
    std::string model;
    RankMasksJobOptions masks;
    RunSetup run;
    bool json = false;
};

struct ThroughputArgs {
    std::string model, compare;
    ThroughputJobOptions throughput;
    RunSetup run;
    bool json = false;
};

struct GenerateArgs {
    std::string model;
    GenerateJobOptions generate;
    RunSetup run;
    bool json = false;
};

struct SynthArgs {
    std::string shape, out, tokenizer;
    std::string dtype = "float32";   // float32 | bfloat16 | float16
    uint64_t seed = 0;
    // Overrides of the preset's sizes; 0 keeps the preset's value.
    int64_t layers = 0, hidden = 0, heads = 0, kvHeads = 0, intermediate = 0, vocab = 0, maxPositions = 0;
    bool json = false;
};

struct BenchArgs {
    std::string model;
    int64_t context = 1024;
    std::vector<int> threads{1, 2};
    int repeats = 3;
    std::string dtype = "float32";
    bool json = false;
};

struct BenchPplArgs {
    std::string model, text;
    int64_t context = 512;
    std::vector<int64_t> batches{1, 0};   // 1 = the old path, one window per forward pass; 0 = automatic
    std::vector<std::string> attention{"matmul", "fused"};   // each kernel with each batch; matmul is the old path
    std::vector<int64_t> workers{1, 0};   // forward passes side by side; 1 = the old path, 0 = automatic
    int threads = 2;
    int repeats = 1;
    bool json = false;
};

struct BenchTokenizerArgs {
    std::string tokenizer;           // a GPT-2 tokenizer folder
    std::string text;                // a text file; empty: the WikiText-2 test split under dataDir
    std::string dataDir;
    int repeats = 3;
    bool json = false;
};

struct TasksArgs {
    std::string model;
    TasksJobOptions tasks;
    RunSetup run;
    bool json = false;
    bool jsonPretty = false;         // the same object indented, for reading (not one line)
};

struct FinetuneArgs {
    std::string model;
    FinetuneJobOptions finetune;
    RunSetup run;
    bool json = false;
};

struct ConfigArgs {
    std::string config;
    std::vector<std::string> set;   // section.key=value overrides
    bool json = false;
};

int runConfigCheck(const ConfigArgs& a);
int runPipelineCommand(const ConfigArgs& a);
int runSweepCommand(const ConfigArgs& a);
int runInspect(const InspectArgs& a);
int runCalibrate(const CalibrateArgs& a);
int runCompress(const CompressArgs& a);
int runFinetune(const FinetuneArgs& a);
int runExport(const ExportArgs& a);
int runSearch(const SearchArgs& a);
int runEvalPpl(const PplArgs& a);
int runEvalMasks(const MasksArgs& a);
int runEvalTasks(const TasksArgs& a);
int runEvalThroughput(const ThroughputArgs& a);
int runGenerate(const GenerateArgs& a);
int runSynth(const SynthArgs& a);
int runRecover(const RecoverArgs& a);
int runBenchForward(const BenchArgs& a);
int runBenchPlan(bool json);
int runBenchPpl(const BenchPplArgs& a);
int runBenchTokenizer(const BenchTokenizerArgs& a);

} // namespace basis::cli
