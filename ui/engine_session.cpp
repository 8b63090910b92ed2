// The LibTorch side of the GUI: no Qt header may be included here (TOOLCHAIN.md, pitfall 2).
#include "engine_session.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "compress.h"
#include "compressed_io.h"
#include "datasets.h"
#include "decoder_model.h"
#include "error.h"
#include "generate.h"
#include "multiple_choice.h"
#include "run_options.h"
#include "spectra.h"
#include "synth.h"
#include "throughput.h"
#include "tokenizer.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <chrono>

namespace basis::ui {

namespace fs = std::filesystem;

struct EngineSession::State {
    std::unique_ptr<DecoderModel> dense;        // as loaded: calibration and the dense evaluation use it
    std::unique_ptr<Tokenizer> tokenizer;       // null when the folder has none
    std::unique_ptr<CalibrationStats> stats;    // of `dense`
    std::unique_ptr<DecoderModel> compressed;   // a second copy of the weights, compressed in place
    std::unique_ptr<CompressionResult> result;
    int threads = 0;
};

namespace {

// The new text as it reads after the prompt: SentencePiece drops the leading space of the first piece it decodes,
// so the continuation is the whole sequence's text past the prompt's text, not the new tokens decoded alone.
std::string continuationText(const Tokenizer& tokenizer, const std::vector<int64_t>& prompt,
                             const std::vector<int64_t>& fresh)
{
    std::vector<int64_t> all = prompt;
    all.insert(all.end(), fresh.begin(), fresh.end());
    const std::string whole = tokenizer.decode(all), head = tokenizer.decode(prompt);
    if (whole.compare(0, head.size(), head) == 0)
        return whole.substr(head.size());
    return tokenizer.decode(fresh);
}

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string dtypeName(c10::ScalarType t)
{
    return t == c10::kBFloat16 ? "bfloat16" : t == c10::kFloat ? "float32" : std::string(c10::toString(t));
}

} // namespace

EngineSession::EngineSession() : m(std::make_unique<State>()) {}
EngineSession::~EngineSession() = default;

ComputeDevices EngineSession::computeDevices()
{
    ComputeDevices d;
    d.cudaBuilt = at::Context::hasCUDART();   // the CUDA runtime is linked, whether or not a device is present
    d.cudaCount = d.cudaBuilt ? cudaDeviceCount() : 0;
    d.libtorchVersion = TORCH_VERSION;
    return d;
}

bool EngineSession::hasModel() const { return m->dense != nullptr; }
bool EngineSession::hasCalibration() const { return m->stats != nullptr; }
bool EngineSession::hasCompressed() const { return m->compressed != nullptr; }

ModelSummary EngineSession::loadModel(const fs::path& dir, const JobContext& job)
{
    // LibTorch's thread count is per calling thread with OpenMP: set it on the engine thread itself.
    if (m->threads == 0)
        m->threads = applyThreads(0);
    job.report(0, 2, "reading weights");
    auto model = DecoderModel::load(dir, RunOptions{"cpu", "float32", m->threads});
    job.checkCancelled();
    job.report(1, 2, "reading tokenizer");
    std::unique_ptr<Tokenizer> tokenizer;
    try {
        tokenizer = loadTokenizer(dir);
    } catch (const Error&) {
        // A folder without a tokenizer still shows its shapes and live counts; calibration will say why it cannot run.
    }
    job.report(2, 2, "loaded");

    ModelSummary s;
    s.dir = dir;
    s.config = model->config();
    s.dtype = dtypeName(model->dtype());
    s.device = model->device().str();
    s.parameters = model->parameterCount();
    s.tokenizer = tokenizer ? tokenizer->kind() : std::string();
    s.synthetic = s.config.raw.contains("basis_studio_synthetic");
    s.compressed = s.config.raw.contains("compression");

    m->dense = std::move(model);
    m->tokenizer = std::move(tokenizer);
    m->stats.reset();
    m->compressed.reset();
    m->result.reset();
    return s;
}

ModelSummary EngineSession::makeDemoModel(const std::string& preset, const fs::path& dir, const fs::path& tokenizerDir,
                                          const JobContext& job)
{
    job.report(0, 1, "writing random weights");
    writeSyntheticCheckpoint(synthPreset(preset), dir, /*seed=*/0, tokenizerDir);
    job.checkCancelled();
    return loadModel(dir, job);
}

CalibrationSummary EngineSession::calibrate(const CalibrationSetup& setup, const JobContext& job, const LogFn& log)
{
    if (!m->dense)
        throw Error("calibration needs a model: open one first");
    if (!m->tokenizer)
        throw Error(m->dense->dir().string() + ": no tokenizer (tokenizer.model, tokenizer.json or vocab.json + "
                    "merges.txt), so calibration text cannot be read");
    CalibrationRequest r;
    r.text = setup.text;
    r.dataset = setup.dataset;
    r.dataDir = setup.dataDir;
    r.options.samples = setup.samples;
    r.options.context = setup.context;
    r.options.sampling = parseSampling(setup.sampling);
    r.options.seed = setup.seed;
    r.options.batch = setup.batch;
    r.bos = parseBosPolicy(setup.bos);
    r.cacheDir = setup.cacheDir;
    const auto t0 = std::chrono::steady_clock::now();
    // On a GPU the passes run on a copy of the weights loaded there (freed on return); the statistics are
    // accumulated on the CPU either way, so the CPU model compresses with them.
    std::unique_ptr<DecoderModel> onDevice;
    if (!setup.device.empty() && setup.device != "cpu") {
        job.report(0, 1, "loading the weights on " + setup.device);
        onDevice = DecoderModel::load(m->dense->dir(), RunOptions{setup.device, dtypeName(m->dense->dtype()), m->threads});
        job.checkCancelled();
    }
    DecoderModel& model = onDevice ? *onDevice : *m->dense;
    CalibrationOutcome out;
    try {
        out = calibrateFromText(model, *m->tokenizer, r, job);
    } catch (const Cancelled&) {
        throw;
    } catch (const Error& e) {
        // A cache made with other text or settings is refused by the engine; the GUI recomputes instead of
        // making the user delete it, and says so.
        if (r.cacheDir.empty() || !fs::exists(r.cacheDir / "calibration.json"))
            throw;
        if (log)
            log(Severity::Warning, std::string("calibration cache not reused (") + e.what() + "); recomputing");
        r.force = true;
        out = calibrateFromText(model, *m->tokenizer, r, job);
    }
    m->stats = std::make_unique<CalibrationStats>(std::move(out.stats));
    CalibrationSummary s;
    s.samples = m->stats->samples;
    s.tokens = m->stats->tokens;
    s.reused = out.reused;
    s.seconds = since(t0);
    s.cacheDir = setup.cacheDir;
    return s;
}

CompressionSummary EngineSession::compress(const CompressionSettings& settings, const JobContext& job)
{
    if (!m->dense)
        throw Error("compression needs a model: open one first");
    if (m->dense->config().raw.contains("compression"))
        throw Error(m->dense->dir().string() + " is already compressed; open the original model");
    const CompressionPlan plan = planCompression(m->dense->config(), m->dense->table(), settings);
    if (settings.method != Method::Svd && !m->stats)
        throw Error(methodName(settings.method) + " needs calibration statistics: calibrate first");
    const auto t0 = std::chrono::steady_clock::now();
    // A fresh copy of the dense weights (memory-mapped, so cheap) keeps the loaded model dense for comparisons.
    auto copy = DecoderModel::load(m->dense->dir(), RunOptions{"cpu", dtypeName(m->dense->dtype()), m->threads});
    CompressionResult result = compressModel(*copy, m->stats.get(), plan, job);

    CompressionSummary s;
    s.settings = result.plan.settings;
    s.modelBefore = result.plan.modelBefore;
    s.modelAfter = result.plan.modelAfter;
    s.targetBefore = result.plan.targetBefore;
    s.targetAfter = result.plan.targetAfter;
    for (const GroupResult& g : result.groups)
        s.groups.push_back({g.part, g.layers, g.k, g.energy});
    s.seconds = since(t0);
    m->compressed = std::move(copy);
    m->result = std::make_unique<CompressionResult>(std::move(result));
    return s;
}

SpectraSummary EngineSession::computeSpectra(const std::vector<int64_t>& groupSizes, const JobContext& job)
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

const DecoderModel& EngineSession::modelFor(bool compressed) const
{
    const DecoderModel* model = compressed ? m->compressed.get() : m->dense.get();
    if (!model)
        throw Error(compressed ? "no compressed model yet: compress first" : "no model: open one first");
    return *model;
}

ModelVariant EngineSession::variant(bool compressed) const
{
    const DecoderModel& model = modelFor(compressed);
    ModelVariant v;
    v.variant = compressed ? "compressed" : "dense";
    v.method = "dense";
    if (compressed && m->result) {
        v.method = methodName(m->result->plan.settings.method);
        v.ratio = m->result->plan.settings.ratio;
        v.groupSize = m->result->plan.settings.groupSize;
    }
    v.parameters = model.parameterCount();
    v.denseParameters = m->dense->parameterCount();
    return v;
}

PplSummary EngineSession::evaluatePerplexity(const PplSetup& setup, const JobContext& job)
{
    const ModelVariant info = variant(setup.compressed);
    const DecoderModel& model = modelFor(setup.compressed);
    if (!m->tokenizer)
        throw Error(m->dense->dir().string() + ": no tokenizer, so evaluation text cannot be read");
    std::string text, source;
    if (!setup.dataset.empty()) {
        DatasetText d = loadDataset(setup.dataset, setup.dataDir);
        text = std::move(d.text);
        source = d.name;
    } else {
        if (setup.text.empty())
            throw Error("perplexity: choose a dataset or a text file");
        text = readFile(setup.text);
        source = setup.text.filename().string();
    }
    job.report(0, 1, "tokenizing " + source);
    const auto ids = tokenizeForEvaluation(*m->tokenizer, text, BosPolicy::Auto);
    PplOptions o;
    o.context = setup.context;
    o.stride = setup.stride;
    o.protocol = parseProtocol(setup.protocol);
    const PplResult r = basis::evaluatePerplexity(model, ids, o, job);
    PplSummary s;
    s.variant = setup.compressed ? "compressed" : "dense";
    s.ppl = r.ppl;
    s.pplWindowMean = r.pplWindowMean;
    s.pplTokenMean = r.pplTokenMean;
    s.tokens = r.tokens;
    s.windows = r.windows;
    s.context = r.context;
    s.stride = r.stride;
    s.protocol = protocolName(r.protocol);
    s.seconds = r.seconds;
    s.model = info;
    s.source = source;
    return s;
}

ThroughputSummary EngineSession::measureThroughput(const ThroughputSetup& setup, const JobContext& job)
{
    ThroughputSummary s;
    s.model = variant(setup.compressed);
    s.setup = setup;
    const DecoderModel& model = modelFor(setup.compressed);
    ThroughputOptions o;
    o.batch = setup.batch;
    o.promptLen = setup.promptLen;
    o.genLen = setup.genLen;
    o.warmup = setup.warmup;
    o.repeats = setup.repeats;
    const auto t0 = std::chrono::steady_clock::now();
    const ThroughputResult r = basis::measureThroughput(model, o, job);
    s.prefillTokensPerSecond = r.prefillTokensPerSecond;
    s.decodeTokensPerSecond = r.decodeTokensPerSecond;
    s.timeToFirstTokenSeconds = r.timeToFirstTokenSeconds;
    s.peakMemoryBytes = static_cast<int64_t>(r.peakMemoryBytes);
    s.multiplyAddsPerToken = static_cast<double>(r.multiplyAddsPerToken);
    s.seconds = since(t0);
    return s;
}

TasksSummary EngineSession::evaluateTasks(const TasksSetup& setup, const JobContext& job)
{
    TasksSummary s;
    s.model = variant(setup.compressed);
    s.setup = setup;
    const DecoderModel& model = modelFor(setup.compressed);
    if (!m->tokenizer)
        throw Error(m->dense->dir().string() + ": no tokenizer, so task texts cannot be read");
    if (setup.data.empty())
        throw Error("zero-shot tasks: choose a JSONL task file");
    if (setup.limit < 0)
        throw Error("zero-shot tasks: the limit must be 0 (every item) or more");
    const McTaskInfo& task = mcTask(setup.task);
    job.report(0, 1, "reading " + setup.data.filename().string());
    const std::vector<McItem> items = readMcTaskFile(task.name, setup.data, setup.limit);
    McOptions o;
    o.batch = setup.batch;
    const McResult r = evaluateMultipleChoice(model, *m->tokenizer, items, o, job, task.name);
    s.items = r.items;
    s.acc = r.acc;
    s.accNorm = r.accNorm;
    s.accStderr = r.accStderr.value_or(-1);
    s.accNormStderr = r.accNormStderr.value_or(-1);
    s.reportsAccNorm = task.accNorm;
    s.requests = r.requests;
    s.forwards = r.forwards;
    s.truncated = r.truncated;
    s.seconds = r.seconds;
    return s;
}

std::vector<GenerationOutput> EngineSession::generate(const GenerateSetup& setup, const JobContext& job,
                                                      const GenerationFn& onUpdate)
{
    if (!m->dense)
        throw Error("generation needs a model: open one first");
    if (!m->tokenizer)
        throw Error(m->dense->dir().string() + ": no tokenizer, so a prompt cannot be read");
    if (setup.maxNewTokens < 1)
        throw Error("generation needs at least one new token");
    // The prompt is read as an evaluation text is (BOS once at the start when the tokenizer adds one).
    std::vector<int64_t> prompt = tokenizeForEvaluation(*m->tokenizer, setup.prompt, BosPolicy::Auto);
    if (prompt.empty()) {
        if (!m->tokenizer->bosId())
            throw Error("the prompt is empty and " + m->dense->dir().string() + "'s tokenizer has no BOS token to start from");
        prompt.push_back(*m->tokenizer->bosId());
    }
    std::vector<std::pair<bool, const DecoderModel*>> models{{false, m->dense.get()}};
    if (m->compressed)
        models.push_back({true, m->compressed.get()});
    const int64_t total = setup.maxNewTokens * int64_t(models.size());
    std::vector<GenerationOutput> outputs;
    for (size_t i = 0; i < models.size(); ++i) {
        GenerationOutput out;
        out.model = variant(models[i].first);
        out.promptTokens = int64_t(prompt.size());
        std::vector<int64_t> fresh;
        GenerateOptions o;
        o.maxNewTokens = setup.maxNewTokens;
        o.onToken = [&](int64_t token) {
            fresh.push_back(token);
            if (onUpdate) {
                out.text = continuationText(*m->tokenizer, prompt, fresh);
                out.newTokens = int64_t(fresh.size());
                onUpdate(out);
            }
        };
        const int64_t offset = setup.maxNewTokens * int64_t(i);
        JobContext inner;
        inner.cancel = job.cancel;
        inner.progress = [&](int64_t done, int64_t, const std::string&) {
            job.report(offset + done, total, "generating (" + out.model.variant + ")");
        };
        const GenerateResult r = generateGreedy(*models[i].second, prompt, o, inner);
        out.text = continuationText(*m->tokenizer, prompt,
                                    std::vector<int64_t>(r.tokens.begin() + r.promptTokens, r.tokens.end()));
        out.newTokens = int64_t(r.tokens.size()) - r.promptTokens;
        out.prefillSeconds = r.prefillSeconds;
        out.decodeSeconds = r.decodeSeconds;
        out.finished = true;
        if (onUpdate)
            onUpdate(out);
        outputs.push_back(out);
    }
    return outputs;
}

void EngineSession::saveCompressed(const fs::path& out, const JobContext& job)
{
    if (!m->compressed || !m->result)
        throw Error("nothing to save: compress first");
    saveCompressedModel(*m->compressed, *m->result, out, {}, job);
}

} // namespace basis::ui
