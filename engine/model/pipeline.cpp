#include "pipeline.h"

#include "datasets.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "model_location.h"
#include "multiple_choice.h"
#include "throughput.h"
#include "tokenizer.h"

#include <ATen/ATen.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>

namespace basis {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Runs one stage; its errors are prefixed with the stage's name so a user knows what failed.
template <typename Fn>
auto stage(const PipelineHooks& hooks, const std::string& name, nlohmann::json& timings, Fn fn)
{
    if (hooks.onStage)
        hooks.onStage(name);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            timings[name] = since(t0);
        } else {
            auto r = fn();
            timings[name] = since(t0);
            return r;
        }
    } catch (const Cancelled&) {
        throw;
    } catch (const std::exception& e) {
        throw Error("stage " + name + ": " + e.what());
    }
}

// Calibration text: `text` when given (the update's own text), else calibration_text, else the dataset preset's
// train split read by its recipe.
CalibrationRequest requestFor(const RunConfig& c, const std::string& text = {})
{
    CalibrationRequest r;
    if (!text.empty()) {
        r.text = text;
    } else if (!c.calibrationText.empty()) {
        r.text = c.calibrationText;
    } else {
        r.text = datasetFile(c.datasetName, "calibration", c.dataDir);   // checks the file exists, names it if not
        r.dataset = c.datasetName;
        r.dataDir = c.dataDir;
    }
    r.options.samples = c.calibrationSize;
    r.options.context = c.contextLength;
    r.options.sampling = parseSampling(c.sampling);
    r.options.seed = c.seed;
    r.options.batch = c.calibBatchSize;
    r.bos = parseBosPolicy(c.bos);
    return r;
}

// Greedy generation from a fixed pseudo-random prompt: prefill and decode rates, medians after one warm-up.
nlohmann::json throughputJson(const DecoderModel& model, const ThroughputEvaluation& t, const JobContext& job)
{
    ThroughputOptions o;
    o.promptLen = t.promptLen;
    o.genLen = t.genLen;
    o.repeats = t.repeats;
    const ThroughputResult r = measureThroughput(model, o, job);
    return {{"prefill_tokens_per_second,none", r.prefillTokensPerSecond},
            {"decode_tokens_per_second,none", r.decodeTokensPerSecond},
            {"time_to_first_token_seconds,none", r.timeToFirstTokenSeconds},
            {"peak_memory_bytes,none", r.peakMemoryBytes},
            {"peak_memory_kind", r.peakMemoryKind},
            {"prompt_len", t.promptLen},
            {"gen_len", t.genLen},
            {"repeats", t.repeats}};
}

std::string evaluationName(const PplEvaluation& e, int64_t context)
{
    const std::string what = !e.dataset.empty() ? e.dataset : fs::path(e.text).stem().string();
    return "ppl_" + what + "_" + std::to_string(context);
}

} // namespace

nlohmann::json runPipeline(const RunConfig& c, const PipelineHooks& hooks)
{
    nlohmann::json timings = nlohmann::json::object();
    const int threads = applyThreads(c.threads);
    std::unique_ptr<Tokenizer> tokenizer;
    fs::path modelDir;
    auto model = stage(hooks, "load", timings, [&] {
        modelDir = resolveModelFolder(c.modelPath);   // builtin:NAME, a folder, or a Hub name in the local cache
        tokenizer = loadTokenizer(modelDir);
        return DecoderModel::load(modelDir, {c.device, c.dtype, threads});
    });
    if (!c.modelType.empty() && c.modelType.rfind(archName(model->config().arch), 0) != 0)
        throw Error("stage load: model_args.model_type is '" + c.modelType + "' but " + modelDir.string() + " holds a " +
                    archName(model->config().arch) + " model");

    CompressionSettings settings;
    settings.method = parseMethod(c.method);
    settings.ratio = c.compressionRatio;
    settings.groupSize = c.groupSize;
    auto resolveLabels = [&](const std::vector<std::string>& labels) {
        // Published configs name parts by labels whose modules come from the *_name keys (q -> self_attn.q_proj).
        std::vector<std::string> parts;
        for (const auto& l : labels) {
            auto it = c.projectionNames.find(l);
            parts.push_back(it != c.projectionNames.end() ? it->second : l);
        }
        return parts;
    };
    settings.shared = resolveLabels(c.sharePart);
    settings.privateParts = resolveLabels(c.privatePart);
    settings.update = c.update;
    const CompressionPlan plan = stage(hooks, "plan", timings, [&] {
        // Outputs that are not ours to replace are refused now, not after the work.
        if (c.saveUntrainedModel && !c.untrainedModelPath.empty())
            prepareOutputFolder(c.untrainedModelPath, OutputKind::CompressedModel, {c.modelPath, c.calibPath}, compressedModelRules(), hooks.job.log);
        if (c.update && c.saveUpdatedModel && !c.updatedModelPath.empty())
            prepareOutputFolder(c.updatedModelPath, OutputKind::CompressedModel, {c.modelPath, c.calibPath}, compressedModelRules(), hooks.job.log);
        if (!c.resultsPath.empty() && fs::is_directory(c.resultsPath))
            throw Error(c.resultsPath + ": basis_studio.results_path is a folder; it names the results file");
        return planCompression(model->config(), model->table(), settings);
    });

    CalibrationStats stats;
    nlohmann::json calibInfo = nlohmann::json::object();
    if (settings.method != Method::Svd) {
        stage(hooks, "calibrate", timings, [&] {
            if (!c.buildCalib) {
                if (c.calibPath.empty())
                    throw Error("build_calib is false but calibration_args.calib_path names no cache");
                CalibrationIdentity id;
                stats = loadCalibrationFor(*model, c.calibPath, &id);
                calibInfo = id.toJson();
                calibInfo["reused"] = true;
                return;
            }
            CalibrationRequest r = requestFor(c);
            r.cacheDir = c.calibPath;
            auto out = calibrateFromText(*model, *tokenizer, r, hooks.job);
            stats = std::move(out.stats);
            calibInfo = out.identity.toJson();
            calibInfo["reused"] = out.reused;
            calibInfo["text"] = r.text.string();
            if (!r.dataset.empty())
                calibInfo["dataset"] = r.dataset;
        });
    }

    const auto dense = c.update ? snapshotDenseWeights(*model) : std::vector<std::vector<at::Tensor>>{};
    CompressionResult result = stage(hooks, "compress", timings, [&] {
        return compressModel(*model, settings.method == Method::Svd ? nullptr : &stats, plan, hooks.job);
    });
    fs::path saved;
    const nlohmann::json extra = {{"calibration", calibInfo}};
    if (c.saveUntrainedModel && !c.untrainedModelPath.empty()) {
        stage(hooks, "save", timings, [&] { saveCompressedModel(*model, result, c.untrainedModelPath, extra, hooks.job); });
        saved = c.untrainedModelPath;
    }
    if (c.update) {
        stage(hooks, "update", timings, [&] {
            CalibrationRequest r = requestFor(c, c.updateText);
            r.cacheDir = c.buildUpdateCalib ? fs::path() : fs::path(c.updateCalibPath);
            auto updated = calibrateFromText(*model, *tokenizer, r, hooks.job);
            refitCoefficients(*model, dense, updated.stats, plan, hooks.job);
        });
        if (c.saveUpdatedModel && !c.updatedModelPath.empty()) {
            stage(hooks, "save", timings, [&] { saveCompressedModel(*model, result, c.updatedModelPath, extra, hooks.job); });
            saved = c.updatedModelPath;
        }
    }

    nlohmann::json results = nlohmann::json::object();
    for (const PplEvaluation& e : c.evaluations) {
        PplOptions o;
        o.context = e.context > 0 ? e.context : c.contextLength;
        o.stride = e.stride > 0 ? e.stride : (c.stride > 0 ? c.stride : o.context);
        o.protocol = parseProtocol(e.protocol);
        const std::string name = evaluationName(e, o.context);
        stage(hooks, "evaluate", timings, [&] {
            // A preset is read by its recipe (rows joined as the published evaluation does); a file as it is.
            const DatasetText data = !e.text.empty() ? loadTextFile(e.text) : loadDataset(e.dataset, c.dataDir);
            bool bosAdded = false;
            const auto ids = tokenizeForEvaluation(*tokenizer, data.text, parseBosPolicy(c.bos), &bosAdded);
            const PplResult r = evaluatePerplexity(*model, ids, o, hooks.job);
            results[name] = {{"ppl,none", r.ppl},
                             {"ppl_window_mean,none", r.pplWindowMean},
                             {"ppl_token_mean,none", r.pplTokenMean},
                             {"nll,none", r.nll},
                             {"protocol", protocolName(r.protocol)},
                             {"context", r.context},
                             {"stride", r.stride},
                             {"bos", bosAdded ? "once at the start" : "none"},
                             {"tokens", r.tokens},
                             {"windows", r.windows},
                             {"text", data.file.string()},
                             {"recipe", data.recipe}};
        });
    }

    for (const ThroughputEvaluation& t : c.throughput) {
        const std::string name = "throughput_p" + std::to_string(t.promptLen) + "_g" + std::to_string(t.genLen);
        stage(hooks, "evaluate", timings, [&] { results[name] = throughputJson(*model, t, hooks.job); });
    }

    for (const TasksEvaluation& t : c.tasks) {
        stage(hooks, "evaluate", timings, [&] {
            const McTaskInfo& info = mcTask(t.task);
            const McResult r = evaluateMultipleChoice(*model, *tokenizer, readMcTaskFile(info.name, t.data, t.limit),
                                                      McOptions{}, hooks.job, info.name);
            auto se = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
            nlohmann::json m = {{"alias", info.name}, {"acc,none", r.acc}, {"acc_stderr,none", se(r.accStderr)},
                                {"samples", r.items}, {"data", t.data}, {"bos", r.bosAdded ? "added" : "none"}};
            if (info.accNorm) {
                m["acc_norm,none"] = r.accNorm;
                m["acc_norm_stderr,none"] = se(r.accNormStderr);
            }
            results[info.name] = m;
        });
    }

    nlohmann::json out = {{"results", results},
                          {"config", {{"yaml", writeRunConfig(c)}, {"model", c.modelPath}, {"model_folder", modelDir.string()}}},
                          {"compression", compressionSection(result)},
                          {"versions", {{"basis_studio", "0.1.0"}, {"libtorch", TORCH_VERSION}}},
                          {"timings", timings},
                          {"saved_model", saved.string()}};
    const fs::path resultsFile = !c.resultsPath.empty() ? fs::path(c.resultsPath) : saved.empty() ? fs::path() : saved / "results.json";
    if (!resultsFile.empty()) {
        stage(hooks, "write results", timings, [&] { writeFileAtomically(resultsFile, out.dump(2) + "\n"); });
        out["results_file"] = resultsFile.string();
    }
    return out;
}

} // namespace basis
