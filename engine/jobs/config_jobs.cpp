#include "config_jobs.h"

#include <sstream>

#include "method_registry.h"

namespace basis {

RunSetup runSetupFrom(const RunConfig& c)
{
    RunSetup r;
    r.device = c.device;
    r.dtype = c.dtype;
    r.threads = c.threads;
    r.weights = c.weights;
    return r;
}

CalibrateOptions calibrateOptionsFrom(const RunConfig& c)
{
    CalibrateOptions o;
    if (!c.calibrationText.empty()) {
        o.text = c.calibrationText;
    } else {
        o.dataset = c.datasetName;
        o.dataDir = c.dataDir;
    }
    o.samples = c.calibrationSize;
    o.context = c.contextLength;
    o.sampling = c.sampling;
    o.seed = c.seed;
    o.batch = c.calibBatchSize;
    o.bos = c.bos;
    o.cacheDir = c.calibPath;
    o.statisticsDtype = c.statisticsDtype;
    o.activations = c.activations;
    return o;
}

namespace {

// Published configs name parts by labels whose modules come from the *_name keys (q -> self_attn.q_proj).
std::vector<std::string> resolveLabels(const RunConfig& c, const std::vector<std::string>& labels)
{
    std::vector<std::string> parts;
    for (const auto& l : labels) {
        auto it = c.projectionNames.find(l);
        parts.push_back(it != c.projectionNames.end() ? it->second : l);
    }
    return parts;
}

} // namespace

CompressOptions compressOptionsFrom(const RunConfig& c)
{
    CompressOptions o;
    o.settings.method = method(c.method).name();   // unknown names: an error listing the registered ones
    o.settings.ratio = c.compressionRatio;
    o.settings.budget = c.budget;
    o.settings.allocator = c.allocator;
    o.allocatorText = c.allocatorText;
    o.allocatorWindows = c.allocatorWindows;
    o.shardBytes = parseShardSize(c.shardSize, "basis_studio.shard_size");
    o.settings.groupSize = c.groupSize;
    o.settings.shared = resolveLabels(c, c.sharePart);
    o.settings.privateParts = resolveLabels(c, c.privatePart);
    o.settings.update = c.update;
    o.settings.quant = c.quant;
    o.settings.featureSpace.energy = c.energy;
    o.settings.featureSpace.fraction = c.fraction;
    o.settings.featureSpace.ranksFile = c.ranks;
    o.settings.featureSpace.policy = c.policy;
    o.updateText = c.updateText;
    o.updateCacheDir = c.buildUpdateCalib ? std::filesystem::path() : std::filesystem::path(c.updateCalibPath);
    // The update reads its text as the calibration does, also when the statistics come from a cache (build_calib
    // false) or the method needs none (svd) and no calibration ran.
    o.updateCalibration = calibrateOptionsFrom(c);
    return o;
}

FinetuneJobOptions finetuneOptionsFrom(const RunConfig& c)
{
    FinetuneJobOptions o;
    if (!c.finetuneText.empty()) {
        o.text = c.finetuneText;
    } else if (!c.calibrationText.empty()) {
        o.text = c.calibrationText;
    } else {
        o.dataset = c.datasetName;
        o.dataDir = c.dataDir;
    }
    o.bos = c.bos;
    TrainOptions& t = o.train;
    t.train = c.finetuneTrain;
    t.loraRank = c.loraR;
    t.loraAlpha = c.loraAlpha;
    t.loraDropout = c.loraDropout;
    t.loraTargets = resolveLabels(c, c.loraTargets);
    t.lr = c.loraLearningRate;
    t.minLr = c.loraLearningRate;   // the published trainer's constant schedule
    t.warmup = 0;
    t.batch = c.loraTrainBatchSize;
    t.steps = c.finetuneSteps;
    t.tokens = c.finetuneTokens;
    t.epochs = c.finetuneSteps == 0 && c.finetuneTokens == 0 ? c.loraTrainEpoch : 0;
    t.context = c.contextLength;
    t.evalContext = c.contextLength;
    t.seed = c.seed;
    if (c.saveLora)
        o.out = c.loraOutputDir;
    o.runName = c.loraRunName;
    o.peftOut = c.finetunePeftOut;
    o.evalText = c.finetuneEvalText;
    t.evalEvery = c.finetuneEvalEvery;
    return o;
}

PerplexityJobOptions perplexityOptionsFrom(const RunConfig& c, const PplEvaluation& e)
{
    PerplexityJobOptions o;
    o.text = e.text;
    o.dataset = e.dataset;
    o.dataDir = c.dataDir;
    o.context = e.context > 0 ? e.context : c.contextLength;
    o.stride = e.stride > 0 ? e.stride : (c.stride > 0 ? c.stride : o.context);
    // model_args.stride is inherited whatever the entry's context (its default, 512, too): one larger than that
    // context would leave tokens between windows unscored, which the evaluation refuses after the calibration and
    // compression have run. An inherited stride is clamped to the context (disjoint windows); an entry's own stride
    // is kept, and refused by the evaluation when larger.
    if (e.stride == 0 && o.stride > o.context)
        o.stride = o.context;
    o.protocol = e.protocol;
    o.passes = e.passes;
    o.bos = c.bos;
    o.compressed = true;
    o.rank = {e.rankStrategy, e.rankBudget, e.rankEnergy, e.promptTokens};
    if (o.rank.active() && e.stride == 0)   // the prompt protocol scores disjoint windows
        o.stride = o.context;
    return o;
}

ThroughputJobOptions throughputOptionsFrom(const ThroughputEvaluation& t)
{
    ThroughputJobOptions o;
    o.promptLen = t.promptLen;
    o.genLen = t.genLen;
    o.repeats = t.repeats;
    o.compressed = true;
    o.rank = {t.rankStrategy, t.rankBudget, t.rankEnergy, 64};
    return o;
}

TasksJobOptions tasksOptionsFrom(const TasksEvaluation& t)
{
    TasksJobOptions o;
    o.task = t.task;
    o.data = t.data;
    o.limit = t.limit;
    o.compressed = true;
    return o;
}

RunConfig runConfigFrom(const std::filesystem::path& model, const ModelConfig& config, const CalibrateOptions& cal,
                        const CompressionSettings& s, RunConfig c)
{
    c.modelType = config.modelType;
    c.modelPath = model.string();
    if (c.modelName.empty())
        c.modelName = model.filename().string();
    c.method = s.method;
    c.compressionRatio = s.ratio;
    c.budget = s.budget;
    c.allocator = s.allocator;
    c.groupSize = s.groupSize;
    c.projectionNames.clear();
    c.sharePart = s.shared;
    c.privatePart = s.privateParts;
    c.update = s.update;
    c.quant = s.quant;
    c.energy = s.featureSpace.energy;
    c.fraction = s.featureSpace.fraction;
    c.ranks = s.featureSpace.ranksFile.string();
    c.policy = s.featureSpace.policy;
    if (!cal.dataset.empty()) {
        c.datasetName = cal.dataset;
        c.dataDir = cal.dataDir.string();
        c.calibrationText.clear();
    } else if (!cal.text.empty()) {
        c.calibrationText = cal.text.string();
        c.datasetName.clear();
    }
    c.calibrationSize = cal.samples;
    c.contextLength = cal.context;
    c.sampling = cal.sampling;
    c.seed = cal.seed;
    c.calibBatchSize = cal.batch;
    c.bos = cal.bos;
    c.calibPath = cal.cacheDir.string();
    return c;
}

namespace {

// "_prompt-adaptive_rho0.5": two entries that differ only in their strategy keep apart in the results file.
std::string rankSuffix(const RankJobOptions& r)
{
    if (!r.active())
        return "";
    std::ostringstream s;
    s << "_" << r.strategy;
    if (r.budget > 0)
        s << "_rho" << r.budget;
    if (r.energy > 0)
        s << "_tau" << r.energy;
    return s.str();
}

} // namespace

std::string evaluationName(const PerplexityJobOptions& o)
{
    const std::string what = !o.dataset.empty() ? o.dataset : o.text.stem().string();
    return "ppl_" + what + "_" + std::to_string(o.context) + rankSuffix(o.rank);
}

std::string evaluationName(const ThroughputJobOptions& o)
{
    return "throughput_p" + std::to_string(o.promptLen) + "_g" + std::to_string(o.genLen) + rankSuffix(o.rank);
}

} // namespace basis
