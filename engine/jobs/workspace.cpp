#include "workspace.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "channel_order.h"
#include "compress.h"
#include "compress_streamed.h"
#include "compressed_io.h"
#include "feature_space_factorize.h"
#include "rank_search.h"
#include "datasets.h"
#include "dynamic_rank.h"
#include "dynamic_rank_eval.h"
#include "decoder_model.h"
#include "error.h"
#include "finetune.h"
#include "finetuned_io.h"
#include "peft_export.h"
#include "calibration_cache.h"
#include "method_registry.h"
#include "generate.h"
#include "multiple_choice.h"
#include "run_options.h"
#include "spectra.h"
#include "rank_allocation.h"
#include "run_config.h"
#include "synth.h"
#include "throughput.h"
#include "tokenizer.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <chrono>
#include <optional>
#include <sstream>

namespace basis {

namespace fs = std::filesystem;

struct Workspace::State {
    std::unique_ptr<DecoderModel> dense;        // as loaded: calibration and the dense evaluations use it
    std::unique_ptr<Tokenizer> tokenizer;       // null when the folder has none ...
    std::string tokenizerError;                 // ... and loadTokenizer's reason (none found, or a malformed file)
    std::unique_ptr<CalibrationStats> stats;    // of `dense`
    std::optional<CalibrateOptions> calibration;   // how `stats` were made (absent for a cache given alone)
    nlohmann::json calibrationRecord = nlohmann::json::object();   // of the statistics `stats`
    nlohmann::json compressedRecord = nlohmann::json::object();    // of the statistics `compressed` was made with
    std::unique_ptr<DecoderModel> compressed;   // a second copy of the weights, compressed in place
    std::unique_ptr<CompressionResult> result;
    nlohmann::json healRecord;                  // `compressed` is fine-tuned: its "finetune" record (else null)
    std::vector<std::vector<at::Tensor>> denseWeights;   // of the compressed copy before factorizing, for the refit
    CompressionSummary summary;
    uint64_t shardBytes = kDefaultShardBytes;   // of the last compression's options, for saveCompressed
    ModelSummary model;
    RunSetup run;
    int threads = 0;
    // The last text tokenized for perplexity, kept because a sweep evaluates every run on the same text (encoding
    // TinyStories' eval.txt costs about a quarter of evaluating stories260K on it).
    struct Tokenized {
        std::string text, bos;
        std::vector<int64_t> ids;
        bool bosAdded = false;
    };
    std::optional<Tokenized> evalTokens;
};

namespace {

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string dtypeName(c10::ScalarType t)
{
    return t == c10::kBFloat16 ? "bfloat16" : t == c10::kFloat ? "float32" : std::string(c10::toString(t));
}

// The new text as it reads after the prompt: SentencePiece drops the leading space of the first piece it decodes,
// so the continuation is the whole sequence's text past the prompt's text, not the new tokens decoded alone.
std::string continuationText(const Tokenizer& tokenizer, const std::vector<int64_t>& prompt, const std::vector<int64_t>& fresh)
{
    std::vector<int64_t> all = prompt;
    all.insert(all.end(), fresh.begin(), fresh.end());
    const std::string whole = tokenizer.decode(all), head = tokenizer.decode(prompt);
    if (whole.compare(0, head.size(), head) == 0)
        return whole.substr(head.size());
    return tokenizer.decode(fresh);
}

CalibrationRequest requestFor(const CalibrateOptions& o)
{
    CalibrationRequest r;
    r.text = o.text;
    r.dataset = o.dataset;
    r.dataDir = o.dataDir;
    r.options.samples = o.samples;
    r.options.context = o.context;
    r.options.sampling = parseSampling(o.sampling);
    r.options.seed = o.seed;
    r.options.batch = o.batch;
    r.bos = parseBosPolicy(o.bos);
    r.cacheDir = o.cacheDir;
    r.force = o.force;
    r.spectra = o.spectra;
    r.statisticsDtype = o.statisticsDtype;
    r.activations = parseActivationPlace(o.activations);
    return r;
}

// Non-blank lines of a task file: lm-eval's "original" sample count, which a limit cuts to "effective".
int64_t documentCount(const fs::path& file)
{
    std::istringstream in(readFile(file));
    int64_t n = 0;
    for (std::string line; std::getline(in, line);)
        n += line.find_first_not_of(" \t\r\n") != std::string::npos;
    return n;
}

} // namespace

Workspace::Workspace() : m(std::make_unique<State>()) {}
Workspace::~Workspace() = default;

ComputeDevices Workspace::computeDevices()
{
    ComputeDevices d;
    d.cudaBuilt = at::Context::hasCUDART();   // the CUDA runtime is linked, whether or not a device is present
    d.cudaCount = d.cudaBuilt ? cudaDeviceCount() : 0;
    d.libtorchVersion = TORCH_VERSION;
    return d;
}

bool Workspace::hasModel() const { return m->dense != nullptr; }
bool Workspace::hasTokenizer() const { return m->tokenizer != nullptr; }
bool Workspace::hasCalibration() const { return m->stats != nullptr; }
bool Workspace::hasCompressed() const { return m->compressed != nullptr; }

const ModelSummary& Workspace::model() const
{
    if (!m->dense)
        throw Error("no model: open one first");
    return m->model;
}

CompressionPlan Workspace::plan(const CompressionSettings& settings) const
{
    if (!m->dense)
        throw Error("compression needs a model: open one first");
    const int64_t elementBytes = static_cast<int64_t>(c10::elementSize(m->dense->dtype()));
    if (method(settings.method).featureSpace() && ranksNeedStatistics(settings.featureSpace) && settings.budget == 0 && m->stats)
        return planCompression(m->dense->config(), m->dense->table(),
                               resolveFeatureSpaceRanks(*m->dense, m->stats.get(), settings), elementBytes);
    return planCompression(m->dense->config(), m->dense->table(), settings, elementBytes);
}

void Workspace::checkSettings(const CompressionSettings& settings) const
{
    if (!m->dense)
        throw Error("compression needs a model: open one first");
    if (method(settings.method).featureSpace() && ranksNeedStatistics(settings.featureSpace) && settings.budget == 0 &&
        !m->stats) {
        validateFeatureSpace(settings.method, settings.featureSpace);
        if (settings.update)
            throw Error(settings.method + ": the coefficient update (--update) is not defined for the feature-space methods");
        featureSpaceTargets(m->dense->table(), settings);   // unknown part names
        return;
    }
    plan(settings);
}

ModelSummary Workspace::load(const fs::path& dir, const RunSetup& run, const JobContext& job)
{
    // LibTorch's thread count is per calling thread with OpenMP: set it on the thread that runs the jobs.
    m->threads = applyThreads(run.threads);
    job.report(0, 2, "reading weights");
    auto model = DecoderModel::load(dir, RunOptions{run.device, run.dtype, m->threads, run.weights});
    job.checkCancelled();
    job.report(1, 2, "reading tokenizer");
    std::unique_ptr<Tokenizer> tokenizer;
    std::string tokenizerError;
    try {
        tokenizer = loadTokenizer(dir);
    } catch (const Error& e) {
        tokenizerError = e.what();   // what a job that reads text then reports: the file and key at fault
        // A folder without a tokenizer still shows its shapes and counts; the jobs that read text say why they cannot.
        job.note(std::string("no tokenizer: ") + e.what());
    }
    job.report(2, 2, "loaded");

    ModelSummary s;
    s.dir = dir;
    s.config = model->config();
    s.dtype = dtypeName(model->dtype());
    s.device = model->device().str();
    s.weights = model->hostWeights() ? "host" : "device";
    s.threads = m->threads;
    s.parameters = model->parameterCount();
    s.tokenizer = tokenizer ? tokenizer->kind() : std::string();
    s.synthetic = s.config.raw.contains("basis_studio_synthetic");
    s.compressed = s.config.raw.contains("compression");

    m = std::make_unique<State>();   // forget statistics, compressed copy and results of the previous model
    m->dense = std::move(model);
    m->tokenizer = std::move(tokenizer);
    m->tokenizerError = tokenizerError;
    m->model = s;
    m->run = run;
    m->threads = s.threads;
    return s;
}

ModelSummary Workspace::makeDemoModel(const std::string& preset, const fs::path& dir, const fs::path& tokenizerDir,
                                      const JobContext& job)
{
    job.report(0, 1, "writing random weights");
    writeSyntheticCheckpoint(synthPreset(preset), dir, /*seed=*/0, tokenizerDir);
    job.checkCancelled();
    return load(dir, {"cpu", "float32", 0}, job);
}

CalibrationSummary Workspace::calibrate(const CalibrateOptions& options, const JobContext& job)
{
    if (!m->dense)
        throw Error("calibration needs a model: open one first");
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    if (m->model.compressed)
        throw Error(m->dense->dir().string() + " is already compressed; calibrate the original model");
    CalibrationRequest r = requestFor(options);
    const auto t0 = std::chrono::steady_clock::now();
    // On a GPU the passes run on a copy of the weights loaded there (freed on return); the statistics are
    // accumulated on the CPU either way.
    std::unique_ptr<DecoderModel> onDevice;
    if (!options.device.empty() && options.device != m->dense->device().str() &&
        !(options.device == "cpu" && m->dense->device().is_cpu())) {
        job.report(0, 1, "loading the weights on " + options.device);
        onDevice = DecoderModel::load(m->dense->dir(), RunOptions{options.device, dtypeName(m->dense->dtype()), m->threads, m->run.weights});
        job.checkCancelled();
    }
    DecoderModel& model = onDevice ? *onDevice : *m->dense;
    CalibrationOutcome out;
    try {
        out = calibrateFromText(model, *m->tokenizer, r, job);
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        // A cache made with other text or settings: the studio recomputes instead of making the user delete it.
        if (!options.recomputeOnMismatch || r.cacheDir.empty() || !fs::exists(r.cacheDir / "calibration.json"))
            throw;
        job.note(std::string("calibration cache not reused (") + e.what() + "); recomputing");
        r.force = true;
        out = calibrateFromText(model, *m->tokenizer, r, job);
    }
    m->stats = std::make_unique<CalibrationStats>(std::move(out.stats));
    m->calibration = options;
    m->calibrationRecord = out.identity.toJson();
    m->calibrationRecord["reused"] = out.reused;
    m->calibrationRecord["text"] = r.text.string();
    if (!r.dataset.empty())
        m->calibrationRecord["dataset"] = r.dataset;
    if (!r.cacheDir.empty())
        m->calibrationRecord["cache"] = r.cacheDir.string();
    CalibrationSummary s;
    s.samples = m->stats->samples;
    s.tokens = m->stats->tokens;
    s.reused = out.reused;
    s.spectraWritten = out.spectraWritten;
    s.activationsOnDisk = out.activationsOnDisk;
    s.activationBytes = out.activationBytes;
    s.seconds = since(t0);
    s.cacheDir = options.cacheDir;
    s.record = m->calibrationRecord;
    return s;
}

CalibrationSummary Workspace::useCalibrationCache(const fs::path& cacheDir, const JobContext& job)
{
    if (!m->dense)
        throw Error("calibration needs a model: open one first");
    const auto t0 = std::chrono::steady_clock::now();
    job.report(0, 1, "reading the calibration cache");
    CalibrationIdentity id;
    m->stats = std::make_unique<CalibrationStats>(loadCalibrationFor(*m->dense, cacheDir, &id));
    m->calibration.reset();   // its text is not known here: an update needs its own
    m->calibrationRecord = id.toJson();
    m->calibrationRecord["cache"] = cacheDir.string();
    CalibrationSummary s;
    s.samples = m->stats->samples;
    s.tokens = m->stats->tokens;
    s.reused = true;
    s.seconds = since(t0);
    s.cacheDir = cacheDir;
    s.record = m->calibrationRecord;
    return s;
}

CompressionSettings Workspace::lossAllocation(const CompressOptions& options, const JobContext& job,
                                              std::vector<AllocatorCandidate>& candidates)
{
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    fs::path text = options.allocatorText;
    if (text.empty() && m->calibration)
        text = !m->calibration->text.empty() ? m->calibration->text
                                             : datasetFile(m->calibration->dataset, "calibration", m->calibration->dataDir);
    if (text.empty())
        throw Error("the loss allocator measures candidate allocations on a text: give one (--allocator-text FILE), or "
                    "calibrate from a text instead of a cache");
    const int64_t context = (m->calibration ? *m->calibration : CalibrateOptions{}).context;
    const auto ids = tokenizeForEvaluation(*m->tokenizer, loadTextFile(text).text,
                                           parseBosPolicy(m->calibration ? m->calibration->bos : std::string("auto")));
    const LossAllocation a = allocateByLoss(*m->dense, RunOptions{m->run.device, dtypeName(m->dense->dtype()), m->threads, m->run.weights},
                                            m->stats.get(), options.settings, ids, context, options.allocatorWindows, job);
    for (size_t i = 0; i < a.candidates.size(); ++i)
        candidates.push_back({a.candidates[i].label, a.candidates[i].keptWeights, a.candidates[i].loss, i == a.best});
    job.note("loss allocator: " + a.candidates[a.best].label + " chosen (" + std::to_string(a.candidates.size()) +
             " candidates, " + std::to_string(a.searchTokens) + " tokens of " + text.filename().string() + ")");
    return a.settings;
}

CompressionSummary Workspace::factorize(const CompressOptions& options, const JobContext& job)
{
    return factorizeTo(options, {}, job);
}

CompressionSummary Workspace::compressInto(const CompressOptions& options, const fs::path& out, const JobContext& job)
{
    if (!compressesStreamed(options.settings)) {
        CompressionSummary s = compress(options, job);
        saveCompressed(out, {}, job);
        return s;
    }
    return factorizeTo(options, out, job);
}

CompressionSummary Workspace::factorizeTo(const CompressOptions& options, const fs::path& out, const JobContext& job)
{
    if (!m->dense)
        throw Error("compression needs a model: open one first");
    if (m->model.compressed)
        throw Error(m->dense->dir().string() + ": this folder is already compressed; compress the original model");
    // The time counts the ranks' resolution too (the loss allocator compresses a candidate each).
    const auto t0 = std::chrono::steady_clock::now();
    // Feature-space ranks by energy are read off the statistics first, so the plan's counts are exact.
    std::vector<AllocatorCandidate> candidates;
    const CompressionSettings settings = method(options.settings.method).featureSpace()
                                             ? resolveFeatureSpaceRanks(*m->dense, m->stats.get(), options.settings, job)
                                         : options.settings.allocator == "loss" && options.settings.groupRanks.empty()
                                             ? lossAllocation(options, job, candidates)
                                             : resolveAllocatedRanks(*m->dense, m->stats.get(), options.settings, job);
    const CompressionPlan plan = planCompression(m->dense->config(), m->dense->table(), settings,
                                                 static_cast<int64_t>(c10::elementSize(m->dense->dtype())));
    const bool needsStats = method(options.settings.method).needsStatistics();
    if (needsStats && !m->stats)
        throw Error(options.settings.method + " needs calibration statistics: calibrate first");
    // A fresh copy of the dense weights (memory-mapped, so cheap for float32) keeps the loaded model dense for
    // comparisons; it lives on the compression device (default: the loaded model's).
    const std::string device = options.device.empty() ? m->run.device : options.device;
    auto copy = DecoderModel::load(m->dense->dir(), RunOptions{device, dtypeName(m->dense->dtype()), m->threads, m->run.weights});
    auto denseWeights = options.settings.update ? snapshotDenseWeights(*copy) : std::vector<std::vector<at::Tensor>>{};
    CompressionResult result;
    if (out.empty()) {
        result = compressModel(*copy, needsStats ? m->stats.get() : nullptr, plan, job);
        // Rank channels by calibration importance, so run-time prefixes (dynamic rank) are the most important sets.
        orderChannelsByImportance(*copy, m->stats.get(), result);
    } else {
        // The same factors and order, each group written and freed as it is made; the compressed model is then
        // the written folder, memory-mapped like any loaded one.
        const nlohmann::json record = {{"calibration", m->calibrationRecord}};
        result = compressIntoFolder(*copy, needsStats ? m->stats.get() : nullptr, m->stats.get(), plan, out, record,
                                    options.shardBytes, job);
        copy.reset();
        copy = DecoderModel::load(out, RunOptions{device, dtypeName(m->dense->dtype()), m->threads, m->run.weights});
    }

    CompressionSummary s;
    s.plan = result.plan;
    s.settings = result.plan.settings;
    s.requested = options.settings;
    s.modelBefore = result.plan.modelBefore;
    s.modelAfter = result.plan.modelAfter;
    s.targetBefore = result.plan.targetBefore;
    s.targetAfter = result.plan.targetAfter;
    for (const GroupResult& g : result.groups)
        s.groups.push_back({g.part, g.layers, g.k, g.energy, g.iterationErrors, g.bestIteration});
    s.factorizeSeconds = result.seconds;
    s.allocatorCandidates = candidates;
    s.section = compressionSection(result);
    s.seconds = since(t0);
    // Nothing of the workspace changes until the factorization has succeeded.
    m->compressed = std::move(copy);
    m->result = std::make_unique<CompressionResult>(std::move(result));
    m->denseWeights = std::move(denseWeights);
    m->compressedRecord = m->calibrationRecord;   // a later calibration does not rewrite this model's provenance
    m->healRecord = nullptr;
    m->summary = s;
    m->shardBytes = options.shardBytes;
    return s;
}

SearchSummary Workspace::search(const SearchOptions& options, const JobContext& job,
                                const std::function<void(const SearchTrial&)>& onTrial)
{
    if (!m->dense)
        throw Error("the rank search needs a model: open one first");
    if (m->model.compressed)
        throw Error(m->dense->dir().string() + ": this folder is already compressed; search on the original model");
    if (!m->stats)
        throw Error("the rank search needs calibration statistics: calibrate first");
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    SearchOptions o = options;
    fs::path text = o.searchText;
    std::string bos = "auto";
    if (m->calibration) {
        bos = m->calibration->bos;
        if (o.context == 0)
            o.context = m->calibration->context;
    }
    if (o.context == 0)
        o.context = 512;
    std::string source;
    if (text.empty()) {
        if (!m->calibration || (m->calibration->text.empty() && m->calibration->dataset.empty()))
            throw Error("the rank search reads the calibration text by default, unknown for a calibration cache given "
                        "alone: pass --search-text FILE");
        source = m->calibration->text.empty() ? loadDataset(m->calibration->dataset, m->calibration->dataDir, {"train", 0}).text
                                              : readFile(m->calibration->text);
    } else {
        source = readFile(text);
    }
    const std::vector<int64_t> ids = tokenizeForEvaluation(*m->tokenizer, source, parseBosPolicy(bos));
    auto copy = DecoderModel::load(m->dense->dir(), RunOptions{m->run.device, dtypeName(m->dense->dtype()), m->threads, m->run.weights});
    return surgicalRankSearch(*copy, *m->stats, ids, o, job, onTrial);
}

CompressionSummary Workspace::refit(const CompressOptions& options, const JobContext& job)
{
    if (!m->compressed || !m->result)
        throw Error("the update refits a compressed model: compress first");
    if (m->denseWeights.empty())
        throw Error("the update needs the dense weights kept at compression: compress with update on");
    const auto t0 = std::chrono::steady_clock::now();
    CalibrateOptions text = options.updateCalibration ? *options.updateCalibration : m->calibration.value_or(CalibrateOptions{});
    text.cacheDir = options.updateCacheDir;
    text.force = false;
    text.spectra.clear();
    text.device.clear();
    if (!options.updateText.empty() || !options.updateDataset.empty()) {
        text.text = options.updateText;
        text.dataset = options.updateDataset;
    }
    if (text.text.empty() && text.dataset.empty())
        throw Error("the update collects statistics on the compressed model and needs a text: give an update text "
                    "(--update-text FILE), or calibrate from a text instead of a cache");
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    job.report(0, 1, "update: statistics of the compressed model");
    const CalibrationOutcome updated = calibrateFromText(*m->compressed, *m->tokenizer, requestFor(text), job);
    refitCoefficients(*m->compressed, m->denseWeights, updated.stats, m->result->plan, job);
    orderChannelsByImportance(*m->compressed, m->stats.get(), *m->result);   // the new C_l change the importance
    m->summary.section = compressionSection(*m->result);
    m->denseWeights.clear();
    m->compressedRecord["update_text"] = text.dataset.empty() ? text.text.string() : text.dataset;
    m->summary.refitted = true;
    m->summary.refitSeconds = since(t0);
    m->summary.seconds += m->summary.refitSeconds;
    return m->summary;
}

CompressionSummary Workspace::compress(const CompressOptions& options, const JobContext& job)
{
    if (!options.settings.update)
        return factorize(options, job);
    // With the update the compression is one step: when the refit fails or is cancelled, the workspace keeps the
    // compressed model it had before (which front ends still show), not a factorized one without its refit.
    auto compressed = std::move(m->compressed);
    auto result = std::move(m->result);
    auto record = m->compressedRecord;
    auto heal = m->healRecord;
    const CompressionSummary summary = m->summary;
    try {
        factorize(options, job);
        return refit(options, job);
    } catch (...) {
        m->compressed = std::move(compressed);
        m->result = std::move(result);
        m->compressedRecord = std::move(record);
        m->healRecord = std::move(heal);
        m->summary = summary;
        m->denseWeights.clear();
        throw;
    }
}

void Workspace::saveCompressed(const fs::path& out, const nlohmann::json& extra, const JobContext& job)
{
    if (!m->compressed || !m->result)
        throw Error("nothing to save: compress first");
    nlohmann::json record = {{"calibration", m->compressedRecord}};
    if (extra.is_object())
        record.update(extra);
    if (m->healRecord.is_object())   // fine-tuned since: saved as the fine-tuning saves it, with its record
        saveFinetunedModel(*m->compressed, compressionSection(*m->result, record), out, m->healRecord, job, m->shardBytes);
    else
        saveCompressedModel(*m->compressed, *m->result, out, record, job, m->shardBytes);
}

void Workspace::exportDense(const fs::path& out, const JobContext& job, uint64_t shardBytes)
{
    if (!m->dense)
        throw Error("no model: open one first");
    if (!m->model.compressed)
        throw Error(m->dense->dir().string() + ": not a compressed model folder (config.json has no compression section)");
    basis::exportDense(*m->dense, out, job, shardBytes);
}

FeatureSpaceSummary Workspace::featureSpace(const CompressionSettings& settings, const JobContext& job)
{
    if (!m->dense)
        throw Error("the feature-space view needs a model: open one first");
    if (m->model.compressed)
        throw Error(m->dense->dir().string() + ": this folder is already compressed; open the original model");
    const CompressionMethod& fsMethod = method(settings.method);
    if (!fsMethod.featureSpace())
        throw Error(settings.method + " is not a feature-space method (utilized, hybrid, weight-svd, sfsd)");
    if (fsMethod.needsStatistics() && !m->stats)
        throw Error(settings.method + " needs calibration statistics: calibrate first");
    const CalibrationStats* stats = m->stats.get();
    FeatureSpaceSummary out;
    out.settings = resolveFeatureSpaceRanks(*m->dense, stats, settings, job);
    const ArchTable& table = m->dense->table();
    const FeatureSpaceReport report = featureSpaceReport(m->dense->config(), table, out.settings);
    for (const ProjectionSpec* spec : featureSpaceTargets(table, out.settings))
        out.parts.push_back(spec->part);
    out.layers = m->dense->layerCount();
    out.mlu = report.mlu;
    out.flips = report.flips;
    auto values = [](const at::Tensor& t) {
        if (!t.defined())
            return std::vector<double>{};
        const at::Tensor c = t.to(at::kDouble).contiguous();
        return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    };
    int64_t done = 0;
    for (const ProjectionRank& r : report.projections) {
        job.checkCancelled();
        const size_t index = static_cast<size_t>(r.spec - table.projections.data());
        const ProjectionDecomposition p = decomposeSlot(settings.method, *m->dense, r.layer, index, stats);
        FeatureProjection f;
        f.part = r.spec->part;
        f.layer = r.layer;
        f.m = r.m;
        f.d = r.d;
        f.kappa = r.kappa;
        f.chosen = r.chosen;
        f.rank = r.rank;
        f.dense = r.dense;
        f.flipped = r.flipped;
        f.utilization = r.utilization;
        f.energy = p.energy(r.rank);
        f.output = values(p.spectrum);
        f.input = values(inputSpectrum(settings.method, *m->dense, r.layer, index, stats));
        out.projections.push_back(std::move(f));
        job.report(++done, static_cast<int64_t>(report.projections.size()), "spectra: " + r.spec->part + " layer " +
                                                                               std::to_string(r.layer));
    }
    return out;
}

SpectraSummary Workspace::computeSpectra(const std::vector<int64_t>& groupSizes, const JobContext& job)
{
    if (!m->dense || !m->stats)
        throw Error("the energy kept needs calibration statistics: calibrate first");
    const Spectra spectra = basis::computeSpectra(*m->dense, *m->stats, groupSizes, job);
    SpectraSummary out;
    for (const auto& [key, s] : spectra.values) {
        const at::Tensor c = s.to(at::kDouble).contiguous();
        out.values[key] = std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    }
    return out;
}

namespace {

const DecoderModel& pick(const std::unique_ptr<DecoderModel>& dense, const std::unique_ptr<DecoderModel>& compressed,
                         bool wantCompressed)
{
    const DecoderModel* model = wantCompressed ? compressed.get() : dense.get();
    if (!model)
        throw Error(wantCompressed ? "no compressed model yet: compress first" : "no model: open one first");
    return *model;
}

// The model a dynamic-rank run installs its hooks on (removed when the run ends; the weights are not touched).
DecoderModel& pickForRank(const std::unique_ptr<DecoderModel>& dense, const std::unique_ptr<DecoderModel>& compressed,
                          bool wantCompressed)
{
    DecoderModel* model = wantCompressed ? compressed.get() : dense.get();
    if (!model)
        throw Error(wantCompressed ? "no compressed model yet: compress first" : "no model: open one first");
    return *model;
}

RankSettings rankSettingsOf(const RankJobOptions& o)
{
    RankSettings s;
    s.strategy = parseRankStrategy(o.strategy);
    s.budget = o.budget;
    s.energy = o.energy;
    s.promptTokens = o.promptTokens;
    checkRankSettings(s);
    return s;
}

ModelVariant variantOf(const DecoderModel& model, const DecoderModel& dense, const CompressionResult* result,
                       const nlohmann::json& heal, bool compressed)
{
    ModelVariant v;
    // Fine-tuned in this workspace, or a healed folder loaded as it is.
    const nlohmann::json& record = compressed ? heal : dense.config().raw.value("finetune", nlohmann::json());
    if (record.is_object())
        v.healed = record.value("train", std::string("fine-tuned"));
    v.variant = compressed ? "compressed" : "dense";
    v.method = "dense";
    const int64_t elementBytes = static_cast<int64_t>(c10::elementSize(dense.dtype()));
    v.denseBytes = dense.parameterCount() * elementBytes;
    v.bytes = model.parameterCount() * elementBytes;
    if (compressed && result) {
        v.method = result->plan.settings.method;
        v.ratio = result->plan.settings.ratio;
        v.budget = result->plan.settings.budget;
        v.allocator = v.budget != 0 ? result->plan.settings.allocator : std::string();
        v.groupSize = result->plan.settings.groupSize;
        v.bytes = result->plan.modelBytesAfter;
        v.denseBytes = result->plan.modelBytesBefore;
    } else if (dense.config().raw.contains("compression")) {
        const auto& c = dense.config().raw.at("compression");   // a compressed folder loaded as it is
        v.method = c.value("method", std::string("compressed"));
        v.ratio = c.value("ratio", 0.0);
        v.groupSize = c.value("group_size", int64_t{0});
        if (c.contains("budget") && c["budget"].is_number())
            v.budget = c["budget"].get<double>();
        if (v.budget != 0)
            v.allocator = c.value("allocator", std::string("uniform"));
    }
    v.parameters = model.parameterCount();
    v.denseParameters = dense.parameterCount();
    return v;
}

} // namespace

PerplexitySummary Workspace::perplexity(const PerplexityJobOptions& o, const JobContext& job)
{
    const DecoderModel& model = pick(m->dense, m->compressed, o.compressed);
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    if (o.text.empty() == o.dataset.empty())
        throw Error("perplexity needs exactly one of a text file and a dataset preset");
    const DatasetText data = !o.text.empty() ? loadTextFile(o.text) : loadDataset(o.dataset, o.dataDir, {o.split, o.maxDocuments});
    PerplexitySummary s;
    s.model = variantOf(model, *m->dense, m->result.get(), m->healRecord, o.compressed);
    s.source = !o.dataset.empty() ? data.name : o.text.filename().string();
    s.file = data.file;
    s.recipe = data.recipe;
    if (!m->evalTokens || m->evalTokens->bos != o.bos || m->evalTokens->text != data.text) {
        job.report(0, 1, "tokenizing " + s.source);
        State::Tokenized t;
        t.ids = tokenizeForEvaluation(*m->tokenizer, data.text, parseBosPolicy(o.bos), &t.bosAdded);
        t.text = data.text;
        t.bos = o.bos;
        m->evalTokens = std::move(t);
    }
    const std::vector<int64_t>& ids = m->evalTokens->ids;
    s.bosAdded = m->evalTokens->bosAdded;
    PplOptions p;
    p.context = o.context;
    p.stride = o.stride;
    p.protocol = parseProtocol(o.protocol);
    p.batch = o.batch;
    p.passes = parsePasses(o.passes);
    if (o.rank.active()) {
        if (p.passes == PplPasses::Layerwise)
            throw Error("perplexity: layerwise passes do not combine with a dynamic rank strategy (its prompt "
                        "protocol runs each window whole)");
        const RankPplResult r = evaluateRankPerplexity(pickForRank(m->dense, m->compressed, o.compressed), ids, p,
                                                       rankSettingsOf(o.rank), job);
        s.result = r.ppl;
        s.rank = r.rank;
        s.promptTokens = o.rank.promptTokens;
        s.skippedWindows = r.skippedWindows;
        return s;
    }
    s.result = evaluatePerplexity(model, ids, p, job);
    return s;
}

RankMasksSummary Workspace::rankMasks(const RankMasksJobOptions& o, const JobContext& job)
{
    DecoderModel& model = pickForRank(m->dense, m->compressed, o.compressed);
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    if (!o.rank.active())
        throw Error("eval masks needs a --rank-strategy");
    const auto ids = tokenizeForEvaluation(*m->tokenizer, o.text, parseBosPolicy(o.bos));
    if (ids.empty())
        throw Error("eval masks: the text gives no tokens");
    RankMasksSummary s;
    s.model = variantOf(model, *m->dense, m->result.get(), m->healRecord, o.compressed);
    s.capture = captureRankMasks(model, ids, rankSettingsOf(o.rank), job);
    for (int64_t id : ids)
        s.tokens.push_back(m->tokenizer->decode({id}));
    return s;
}

namespace {

ThroughputOptions throughputOptions(const ThroughputJobOptions& o)
{
    ThroughputOptions t;
    t.batch = o.batch;
    t.promptLen = o.promptLen;
    t.genLen = o.genLen;
    t.warmup = o.warmup;
    t.repeats = o.repeats;
    return t;
}

} // namespace

ThroughputSummary Workspace::throughput(const ThroughputJobOptions& o, const JobContext& job)
{
    const DecoderModel& model = pick(m->dense, m->compressed, o.compressed);
    ThroughputSummary s;
    s.model = variantOf(model, *m->dense, m->result.get(), m->healRecord, o.compressed);
    const auto t0 = std::chrono::steady_clock::now();
    ThroughputOptions t = throughputOptions(o);
    std::unique_ptr<DynamicRank> dynamic;
    if (o.rank.active()) {   // the prefill at full rank, every decode step under the strategy
        dynamic = std::make_unique<DynamicRank>(pickForRank(m->dense, m->compressed, o.compressed), rankSettingsOf(o.rank));
        t.beforePrefill = [&] { dynamic->beginPrompt(); };
        t.afterPrefill = [&] { dynamic->endPrompt(); };
    }
    s.result = measureThroughput(model, t, job);
    if (dynamic)
        s.rank = dynamic->statistics();
    s.seconds = since(t0);
    return s;
}

ThroughputComparison compareThroughput(const Workspace& base, bool baseCompressed, const Workspace& other,
                                       bool otherCompressed, const ThroughputJobOptions& options, const JobContext& job)
{
    const DecoderModel& a = pick(base.m->dense, base.m->compressed, baseCompressed);
    const DecoderModel& b = pick(other.m->dense, other.m->compressed, otherCompressed);
    return basis::compareThroughput(a, b, throughputOptions(options), job);
}

TasksSummary Workspace::tasks(const TasksJobOptions& o, const JobContext& job)
{
    const DecoderModel& model = pick(m->dense, m->compressed, o.compressed);
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    if (o.data.empty())
        throw Error("zero-shot tasks: choose a JSONL task file");
    if (o.limit < 0)
        throw Error("zero-shot tasks: the limit must be 0 (every item) or more (got " + std::to_string(o.limit) + ")");
    const McTaskInfo& task = mcTask(o.task);
    job.report(0, 1, "reading " + o.data.filename().string());
    const std::vector<McItem> items = readMcTaskFile(task.name, o.data, o.limit);
    McOptions mc;
    mc.batch = o.batch;
    mc.bos = parseBosPolicy(o.bos);
    TasksSummary s;
    s.model = variantOf(model, *m->dense, m->result.get(), m->healRecord, o.compressed);
    s.task = task.name;
    s.data = o.data;
    s.originalItems = documentCount(o.data);
    s.result = evaluateMultipleChoice(model, *m->tokenizer, items, mc, job, task.name);
    s.result.reportsAccNorm = task.accNorm;
    return s;
}

std::vector<GenerationOutput> Workspace::generate(const GenerateJobOptions& options, const JobContext& job,
                                                  const GenerationFn& onUpdate)
{
    if (!m->dense)
        throw Error("generation needs a model: open one first");
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    if (options.maxNewTokens < 1)
        throw Error("generation needs at least one new token");
    // The prompt is read as an evaluation text is (BOS once at the start when the tokenizer adds one).
    std::vector<int64_t> prompt = tokenizeForEvaluation(*m->tokenizer, options.prompt, BosPolicy::Auto);
    if (prompt.empty()) {
        if (!m->tokenizer->bosId())
            throw Error("the prompt is empty and " + m->dense->dir().string() + "'s tokenizer has no BOS token to start from");
        prompt.push_back(*m->tokenizer->bosId());
    }
    std::vector<bool> which;
    if (options.bothModels) {
        which.push_back(false);
        if (m->compressed)
            which.push_back(true);
    } else {
        which.push_back(options.compressed);
    }
    const std::string promptText = m->tokenizer->decode(prompt);
    const int64_t total = options.maxNewTokens * int64_t(which.size());
    std::vector<GenerationOutput> outputs;
    for (size_t i = 0; i < which.size(); ++i) {
        const DecoderModel& model = pick(m->dense, m->compressed, which[i]);
        std::unique_ptr<DynamicRank> dynamic;   // the prompt at full rank, every new token under the strategy
        if (options.rank.active()) {
            if (options.bothModels && !hasFactorizedProjection(model))
                continue;   // the dense one of the pair has no rank channels
            dynamic = std::make_unique<DynamicRank>(pickForRank(m->dense, m->compressed, which[i]), rankSettingsOf(options.rank));
            dynamic->beginPrompt();
        }
        GenerationOutput out;
        out.model = variantOf(model, *m->dense, m->result.get(), m->healRecord, which[i]);
        out.promptTokens = int64_t(prompt.size());
        out.promptText = promptText;
        std::vector<int64_t> fresh;
        GenerateOptions g;
        g.maxNewTokens = options.maxNewTokens;
        g.stopAtEos = !options.ignoreEos;
        g.onToken = [&](int64_t token) {
            if (dynamic && fresh.empty())   // the first token came from the prefill
                dynamic->endPrompt();
            fresh.push_back(token);
            if (onUpdate) {
                out.text = continuationText(*m->tokenizer, prompt, fresh);
                out.newTokens = int64_t(fresh.size());
                onUpdate(out);
            }
        };
        const int64_t offset = options.maxNewTokens * int64_t(i);
        JobContext inner = job;
        inner.progress = [&](int64_t done, int64_t, const std::string&) {
            job.report(offset + done, total, "generating (" + out.model.variant + ")");
        };
        const GenerateResult r = generateGreedy(model, prompt, g, inner);
        out.text = continuationText(*m->tokenizer, prompt, std::vector<int64_t>(r.tokens.begin() + r.promptTokens, r.tokens.end()));
        out.newTokens = int64_t(r.tokens.size()) - r.promptTokens;
        out.tokens = r.tokens;
        out.wholeText = m->tokenizer->decode(r.tokens);
        out.prefillSeconds = r.prefillSeconds;
        out.decodeSeconds = r.decodeSeconds;
        out.finished = true;
        if (dynamic)
            out.rank = dynamic->statistics();
        if (onUpdate)
            onUpdate(out);
        outputs.push_back(out);
    }
    return outputs;
}

void Workspace::prepareCompressedOutput(const fs::path& out, const std::vector<fs::path>& inputs, const JobContext& job)
{
    prepareOutputFolder(out, OutputKind::CompressedModel, inputs, compressedModelRules(), job.log);
}

FinetuneSummary Workspace::finetune(const FinetuneJobOptions& o, const JobContext& job, const TrainStepFn& onStep)
{
    if (!m->dense)
        throw Error("fine-tuning needs a model: open one first");
    if (!m->tokenizer)
        throw Error(m->tokenizerError);
    checkTrainOptions(o.train);
    if (!o.text.empty() && !o.dataset.empty())
        throw Error("fine-tuning reads one text: a file or a dataset preset, not both");
    // The text: the options', else the calibration's.
    fs::path textFile = o.text;
    std::string dataset = o.dataset;
    fs::path dataDir = o.dataDir;
    if (textFile.empty() && dataset.empty() && m->calibration) {
        textFile = m->calibration->text;
        dataset = m->calibration->dataset;
        dataDir = m->calibration->dataDir;
    }
    if (textFile.empty() && dataset.empty())
        throw Error("fine-tuning needs a text: give --text FILE (or calibrate from a text first)");
    // Which model: the compressed copy this workspace made, else the loaded one. Either is trained as a copy
    // (makeTrainable gives the copy tensors of its own), so a failure or a cancel leaves the workspace as it was.
    const DecoderModel& source = m->compressed ? *m->compressed : *m->dense;
    nlohmann::json section;
    if (m->compressed && m->result)
        section = compressionSection(*m->result, {{"calibration", m->compressedRecord}});
    else if (source.config().raw.contains("compression"))
        section = source.config().raw.at("compression");
    bool factorized = false;
    for (int64_t l = 0; l < source.layerCount(); ++l)
        for (const LinearSlot& s : source.layer(l).slots)
            factorized = factorized || s.isFactorized();
    if (factorized && section.is_null())
        throw Error("internal: a factorized model without its compression section");
    if (!o.out.empty())
        prepareOutputFolder(o.out, factorized ? OutputKind::CompressedModel : OutputKind::DenseModel, {source.dir()},
                            factorized ? compressedModelRules() : OutputRules{}, job.log);
    if (!o.peftOut.empty()) {
        if (o.train.train != "lora")
            throw Error("--peft-out writes LoRA adapters: it needs --train lora (this run trains " + o.train.train + ")");
        if (!o.out.empty() && resolveOutputPath(o.out) == resolveOutputPath(o.peftOut))
            throw Error("--peft-out and --out name the same folder (" + o.out.string() + ")");
        prepareOutputFolder(o.peftOut, OutputKind::PeftAdapter, {source.dir()}, {}, job.log);
    }

    job.report(0, 1, "tokenizing the training text");
    const DatasetText train = !textFile.empty() ? loadTextFile(textFile) : loadDataset(dataset, dataDir, {"train", 0});
    const BosPolicy bos = parseBosPolicy(o.bos);
    const std::vector<int64_t> ids = tokenizeForEvaluation(*m->tokenizer, train.text, bos);
    std::vector<int64_t> evalIds;
    if (!o.evalText.empty())
        evalIds = tokenizeForEvaluation(*m->tokenizer, loadTextFile(o.evalText).text, bos);

    auto model = std::make_unique<DecoderModel>(source);
    FinetuneSummary s;
    s.compressed = factorized;
    s.parametersBefore = source.parameterCount();
    s.textTokens = static_cast<int64_t>(ids.size());
    s.evalTokens = static_cast<int64_t>(evalIds.size());
    s.text = !textFile.empty() ? textFile.string() : dataset;
    s.evalText = o.evalText.string();
    PeftAdapterExport peft;
    s.result = finetuneModel(*model, ids, evalIds, o.train, job, onStep, o.peftOut.empty() ? nullptr : &peft);
    s.parametersAfter = model->parameterCount();

    const TrainOptions& t = o.train;
    nlohmann::json record = {{"train", t.train}, {"text", s.text}, {"text_fingerprint", tokensFingerprint(ids)},
                             {"text_tokens", s.textTokens}, {"steps", s.result.steps}, {"tokens", s.result.tokens},
                             {"tokens_per_step", s.result.tokensPerStep}, {"lr", t.lr}, {"min_lr", t.minLr},
                             {"warmup", t.warmup}, {"betas", {t.beta1, t.beta2}}, {"eps", t.eps},
                             {"weight_decay", t.weightDecay}, {"clip", t.clip}, {"batch", t.batch},
                             {"accumulation", t.accumulation}, {"context", t.context}, {"seed", t.seed},
                             {"precision", t.precision}, {"bos", bosPolicyName(bos)},
                             {"trainable_parameters", s.result.trainableParameters}, {"final_loss", s.result.finalLoss},
                             {"seconds", s.result.seconds}, {"tokens_per_second", s.result.tokensPerSecond}};
    if (t.train == "lora")
        record["lora"] = {{"rank", t.loraRank}, {"alpha", t.loraAlpha}, {"dropout", t.loraDropout},
                          {"targets", t.loraTargets}, {"merged", true}};
    if (!o.evalText.empty()) {
        record["eval_text"] = s.evalText;
        record["eval_text_fingerprint"] = tokensFingerprint(evalIds);
        record["eval_context"] = t.evalContext;
        record["eval_every"] = t.evalEvery;
        if (s.result.pplBefore)
            record["eval_ppl_before"] = *s.result.pplBefore;
        if (s.result.pplAfter)
            record["eval_ppl_after"] = *s.result.pplAfter;
    }
    if (!o.runName.empty())
        record["run_name"] = o.runName;
    if (s.result.resumedFrom > 0)
        record["resumed_from_step"] = s.result.resumedFrom;
    if (!o.peftOut.empty())
        record["lora"]["peft_out"] = resolveOutputPath(o.peftOut).string();
    s.record = record;
    if (!o.out.empty()) {
        saveFinetunedModel(*model, section, o.out, record, job, m->shardBytes);
        s.out = o.out;
    }
    if (!o.peftOut.empty()) {
        // Against the model as it was before training: the adapters' base (its dense export when factorized).
        writePeftFolder(peft, source, o.peftOut, job);
        s.peftOut = o.peftOut;
    }
    // Nothing of the workspace changes until training (and the save) succeeded.
    m->compressed = std::move(model);
    m->healRecord = record;
    return s;
}

} // namespace basis
