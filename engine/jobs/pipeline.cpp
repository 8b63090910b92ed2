#include "pipeline.h"

#include "results_json.h"

#include "atomic_file.h"
#include "config_jobs.h"
#include "error.h"
#include "method_registry.h"
#include "model_location.h"
#include "workspace.h"

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

} // namespace

nlohmann::json runPipeline(const RunConfig& c, const PipelineHooks& hooks)
{
    nlohmann::json timings = nlohmann::json::object();
    Workspace ws;
    fs::path modelDir;
    const ModelSummary model = stage(hooks, "load", timings, [&] {
        modelDir = resolveModelFolder(c.modelPath);   // builtin:NAME, a folder, or a Hub name in the local cache
        return ws.load(modelDir, runSetupFrom(c), hooks.job);
    });
    const std::string arch = model.config.arch;
    if (!c.modelType.empty() && c.modelType.rfind(arch, 0) != 0)
        throw Error("stage load: model_args.model_type is '" + c.modelType + "' but " + modelDir.string() + " holds a " +
                    arch + " model");

    const CompressOptions compress = compressOptionsFrom(c);
    stage(hooks, "plan", timings, [&] {
        // Outputs that are not ours to replace are refused now, not after the work.
        if (c.saveUntrainedModel && !c.untrainedModelPath.empty())
            Workspace::prepareCompressedOutput(c.untrainedModelPath, {c.modelPath, c.calibPath}, hooks.job);
        if (c.update && c.saveUpdatedModel && !c.updatedModelPath.empty())
            Workspace::prepareCompressedOutput(c.updatedModelPath, {c.modelPath, c.calibPath}, hooks.job);
        if (c.loraRequested && c.saveLora && !c.loraOutputDir.empty())
            Workspace::prepareCompressedOutput(c.loraOutputDir, {c.modelPath, c.calibPath}, hooks.job);
        if (!c.resultsPath.empty() && fs::is_directory(c.resultsPath))
            throw Error(c.resultsPath + ": basis_studio.results_path is a folder; it names the results file");
        ws.checkSettings(compress.settings);   // checked against the model before any work
    });

    if (method(compress.settings.method).needsStatistics()) {
        stage(hooks, "calibrate", timings, [&] {
            if (!c.buildCalib) {
                if (c.calibPath.empty())
                    throw Error("build_calib is false but calibration_args.calib_path names no cache");
                ws.useCalibrationCache(c.calibPath, hooks.job);
                return;
            }
            CalibrateOptions calibrate = calibrateOptionsFrom(c);
            if (!calibrate.dataset.empty())   // named in the saved model's record; checks the file exists
                calibrate.text = datasetFile(calibrate.dataset, "calibration", calibrate.dataDir);
            ws.calibrate(calibrate, hooks.job);
        });
    }

    // Saved without the update: the folder is written as the groups are factorized (Workspace::compressInto), so
    // the "save" stage is part of "compress".
    const bool untrained = c.saveUntrainedModel && !c.untrainedModelPath.empty();
    const bool streamed = untrained && !c.update;
    const CompressionSummary compressed = stage(hooks, "compress", timings, [&] {
        return streamed ? ws.compressInto(compress, c.untrainedModelPath, hooks.job) : ws.factorize(compress, hooks.job);
    });
    fs::path saved;
    if (untrained) {
        if (!streamed)
            stage(hooks, "save", timings, [&] { ws.saveCompressed(c.untrainedModelPath, {}, hooks.job); });
        saved = c.untrainedModelPath;
    }
    if (c.update) {
        stage(hooks, "update", timings, [&] { ws.refit(compress, hooks.job); });
        if (c.saveUpdatedModel && !c.updatedModelPath.empty()) {
            stage(hooks, "save", timings, [&] { ws.saveCompressed(c.updatedModelPath, {}, hooks.job); });
            saved = c.updatedModelPath;
        }
    }

    // lora_args: the compressed model healed on a text; the evaluations below then measure the healed model.
    nlohmann::json finetune;
    if (c.loraRequested) {
        FinetuneJobOptions o = finetuneOptionsFrom(c);
        if (!o.dataset.empty()) {   // read as the calibration reads a preset
            o.text = datasetFile(o.dataset, "calibration", o.dataDir);
            o.dataset.clear();
        }
        stage(hooks, "finetune", timings, [&] {
            const FinetuneSummary s = ws.finetune(o, hooks.job);
            finetune = s.record;
            finetune["loss_curve"] = nlohmann::json::array();
            for (const TrainStep& st : s.result.history)
                finetune["loss_curve"].push_back({{"step", st.step}, {"loss", st.loss}});
        });
        if (!o.out.empty())
            saved = o.out;
    }

    nlohmann::json results = nlohmann::json::object();
    for (const PplEvaluation& e : c.evaluations) {
        const PerplexityJobOptions o = perplexityOptionsFrom(c, e);
        stage(hooks, "evaluate", timings, [&] { results[evaluationName(o)] = perplexityJson(ws.perplexity(o, hooks.job)); });
    }
    for (const ThroughputEvaluation& t : c.throughput) {
        const ThroughputJobOptions o = throughputOptionsFrom(t);
        stage(hooks, "evaluate", timings, [&] { results[evaluationName(o)] = throughputJson(ws.throughput(o, hooks.job), o); });
    }
    for (const TasksEvaluation& t : c.tasks) {
        stage(hooks, "evaluate", timings, [&] {
            const TasksSummary s = ws.tasks(tasksOptionsFrom(t), hooks.job);
            results[s.task] = tasksJson(s);
        });
    }

    nlohmann::json out = {{"results", results},
                          {"config", {{"yaml", writeRunConfig(c)}, {"model", c.modelPath}, {"model_folder", modelDir.string()}}},
                          {"compression", compressed.section},
                          {"finetune", finetune},
                          {"versions", {{"basis_studio", "0.1.0"}, {"libtorch", Workspace::computeDevices().libtorchVersion}}},
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
