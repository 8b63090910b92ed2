#pragma once
// The one engine path of every front end. A Workspace holds a loaded model, its tokenizer, the calibration
// statistics and the compressed copy; each job takes one options struct (job_options.h) and a JobContext
// (progress, cancel, log) and returns one result struct (job_results.h). basis-cli's commands, the YAML pipeline
// and the studio's engine thread call these and nothing else. Torch-free header; not thread-safe (one thread owns a
// workspace). Every call may throw basis::Error (basis::Cancelled when the job's token fires).
#include "job_options.h"
#include "job_results.h"
#include "progress.h"
#include "rank_search_options.h"

#include <functional>
#include <memory>
#include <vector>

namespace basis {

class Workspace {
public:
    Workspace();
    ~Workspace();
    Workspace(const Workspace&) = delete;
    Workspace& operator=(const Workspace&) = delete;

    // Loads a Hugging Face folder (dense or compressed); forgets statistics and any compressed copy.
    ModelSummary load(const std::filesystem::path& dir, const RunSetup& run = {}, const JobContext& job = {});
    // Writes a randomly initialised checkpoint of a preset shape (llama-micro, gpt2-micro, ...) and loads it.
    ModelSummary makeDemoModel(const std::string& preset, const std::filesystem::path& dir,
                               const std::filesystem::path& tokenizerDir, const JobContext& job = {});

    // x^T x at every projection input of the dense model, through the cache when one is named.
    CalibrationSummary calibrate(const CalibrateOptions& options, const JobContext& job = {});
    // The statistics of a cache made for this model (any text and settings).
    CalibrationSummary useCalibrationCache(const std::filesystem::path& cacheDir, const JobContext& job = {});

    // factorize, then refit when settings.update: the whole compression.
    CompressionSummary compress(const CompressOptions& options, const JobContext& job = {});
    // The two steps alone (the pipeline saves the model before the update too).
    CompressionSummary factorize(const CompressOptions& options, const JobContext& job = {});
    // With every basis fixed, C_l = (B^T H' B)^-1 B^T H' W_l from statistics H' of the compressed model on the
    // update text (default: the calibration text).
    CompressionSummary refit(const CompressOptions& options, const JobContext& job = {});

    // compress() and saveCompressed(out) as one job. Plans that allow it (compress_streamed.h: the shared-basis
    // methods without the update) are written group by group as they are factorized, never holding the compressed
    // copy; the compressed model is then the written folder, memory-mapped. Others run the two steps.
    CompressionSummary compressInto(const CompressOptions& options, const std::filesystem::path& out,
                                    const JobContext& job = {});

    // The compressed copy as a folder (output_folder.h: refused when `out` is not ours to replace), in shards of
    // the last compression's options.shardBytes.
    void saveCompressed(const std::filesystem::path& out, const nlohmann::json& extra = {}, const JobContext& job = {});
    // A loaded compressed folder as an ordinary checkpoint with W = B C.
    void exportDense(const std::filesystem::path& out, const JobContext& job = {}, uint64_t shardBytes = kDefaultShardBytes);

    // The surgical rank search (rank_search.h) on a dense copy, with the calibration statistics; the search text
    // defaults to the calibration text (a cache given alone needs options.searchText). Writes the ranks JSON and
    // the log; `onTrial` sees each trial as it is made (or read back from the log).
    SearchSummary search(const SearchOptions& options, const JobContext& job = {},
                         const std::function<void(const SearchTrial&)>& onTrial = {});
    // Trains the compressed copy (when there is one) or a copy of the loaded model on a text, and saves it when
    // options.out is set. The trained model then is the workspace's compressed one (the evaluations' `compressed`);
    // a failed or cancelled run changes nothing. `onStep` sees every optimizer step (loss, tokens/s, evaluation).
    using TrainStepFn = std::function<void(const TrainStep&)>;
    FinetuneSummary finetune(const FinetuneJobOptions& options, const JobContext& job = {}, const TrainStepFn& onStep = {});

    // A feature-space setting's ranks (by energy from the statistics), utilization and per-projection spectra,
    // computed as the compression would (feature_space_factorize.h); nothing is compressed.
    FeatureSpaceSummary featureSpace(const CompressionSettings& settings, const JobContext& job = {});
    SpectraSummary computeSpectra(const std::vector<int64_t>& groupSizes, const JobContext& job = {});
    PerplexitySummary perplexity(const PerplexityJobOptions& options, const JobContext& job = {});
    ThroughputSummary throughput(const ThroughputJobOptions& options, const JobContext& job = {});
    // Which rank channels a dynamic-rank strategy computes for each token of a text (dynamic_rank_eval.h).
    RankMasksSummary rankMasks(const RankMasksJobOptions& options, const JobContext& job = {});
    TasksSummary tasks(const TasksJobOptions& options, const JobContext& job = {});
    // Greedy continuation; `onUpdate` sees each output while it grows (streaming) and when it is complete.
    using GenerationFn = std::function<void(const GenerationOutput&)>;
    std::vector<GenerationOutput> generate(const GenerateJobOptions& options, const JobContext& job = {},
                                           const GenerationFn& onUpdate = {});

    bool hasModel() const;
    bool hasTokenizer() const;
    bool hasCalibration() const;
    bool hasCompressed() const;
    const ModelSummary& model() const;   // throws when none is loaded
    // The compression settings checked and counted against the loaded model (torch-free planner).
    CompressionPlan plan(const CompressionSettings& settings) const;
    // Checks settings before any work: the plan, or for ranks by energy (read off statistics not yet collected)
    // the feature-space settings alone. Throws basis::Error naming what is wrong.
    void checkSettings(const CompressionSettings& settings) const;

    // Cheap and thread-safe.
    static ComputeDevices computeDevices();

    // Before long work: refuses `out` now when saveCompressed would refuse it at the end (output_folder.h), and
    // recovers what a killed save left there. `inputs` are folders the output must not be or contain.
    static void prepareCompressedOutput(const std::filesystem::path& out, const std::vector<std::filesystem::path>& inputs,
                                        const JobContext& job = {});

private:
    friend ThroughputComparison compareThroughput(const Workspace&, bool, const Workspace&, bool,
                                                  const ThroughputJobOptions&, const JobContext&);
    // factorize(), writing the folder `out` as it goes when `out` is not empty (the plan must stream).
    CompressionSummary factorizeTo(const CompressOptions& options, const std::filesystem::path& out, const JobContext& job);
    CompressionSettings lossAllocation(const CompressOptions& options, const JobContext& job,
                                       std::vector<AllocatorCandidate>& candidates);
    struct State;
    std::unique_ptr<State> m;
};

// Two models' runs alternating (base, other, base, ...), the ratio of medians beside the ratio of multiply-adds.
ThroughputComparison compareThroughput(const Workspace& base, bool baseCompressed, const Workspace& other,
                                       bool otherCompressed, const ThroughputJobOptions& options, const JobContext& job = {});

} // namespace basis
