// basis-cli calibrate / compress / export.
#include "cli_progress.h"
#include "commands.h"

#include "calibration_job.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "spectra.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>

namespace basis::cli {

namespace fs = std::filesystem;

namespace {

CalibrationRequest calibrationRequest(const CalibArgs& c)
{
    CalibrationRequest r;
    r.text = c.text;
    r.options.samples = c.samples;
    r.options.context = c.context;
    r.options.sampling = parseSampling(c.sampling);
    r.options.seed = c.seed;
    r.options.batch = c.batch;
    r.bos = parseBosPolicy(c.bos);
    return r;
}

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

int runCalibrate(const CalibrateArgs& a)
{
    const int threads = applyThreads(a.run.threads);
    auto tokenizer = loadTokenizer(a.model);
    auto model = DecoderModel::load(a.model, RunOptions{a.run.device, a.run.dtype, threads});
    CalibrationRequest request = calibrationRequest(a.calib);
    request.cacheDir = a.out;
    request.force = a.force;
    for (int64_t g : a.spectra)   // 0 in the list means "none"
        if (g != 0)
            request.spectra.push_back(g);
    StderrProgress progress("calibrate");
    const auto t0 = std::chrono::steady_clock::now();
    const CalibrationOutcome out = calibrateFromText(*model, *tokenizer, request, cliJob(progress));
    progress.finish();
    const double seconds = since(t0);
    std::printf("%s %s: %lld samples, %lld tokens%s\n", out.reused ? "reused matching cache" : "wrote", a.out.c_str(),
                (long long)out.stats.samples, (long long)out.stats.tokens,
                out.reused ? "" : (", " + std::to_string(out.stats.tokens / std::max(seconds, 1e-9)) + " tokens/s").c_str());
    if (a.json)
        std::cout << nlohmann::json{{"calib", a.out}, {"reused", out.reused}, {"samples", out.stats.samples},
                                    {"tokens", out.stats.tokens}, {"seconds", seconds},
                                    {"tokens_per_second", out.stats.tokens / std::max(seconds, 1e-9)}}.dump()
                  << std::endl;
    return 0;
}

int runCompress(const CompressArgs& a)
{
    const auto t0 = std::chrono::steady_clock::now();
    const int threads = applyThreads(a.run.threads);
    auto model = DecoderModel::load(a.model, RunOptions{a.run.device, a.run.dtype, threads});
    if (model->config().raw.contains("compression"))
        throw Error(a.model + ": this folder is already compressed; compress the original model");
    CompressionSettings settings;
    settings.method = parseMethod(a.method);
    settings.ratio = a.ratio;
    settings.groupSize = a.groupSize;
    settings.shared = a.share;
    settings.privateParts = a.privateParts;
    settings.update = a.update;
    const CompressionPlan plan = planCompression(model->config(), model->table(), settings);   // validate first
    prepareOutputFolder(a.out, OutputKind::CompressedModel, {a.model, a.calibDir}, compressedModelRules(), logLine);

    std::unique_ptr<Tokenizer> tokenizer;
    CalibrationStats stats;
    nlohmann::json calibInfo;
    const bool needStats = settings.method != Method::Svd;
    if (needStats || settings.update) {
        if (a.calibDir.empty() && a.calib.text.empty())
            throw Error(methodName(settings.method) + " needs calibration: pass --calib DIR or --text FILE");
        if (!a.calibDir.empty()) {
            CalibrationIdentity id;
            stats = loadCalibrationFor(*model, a.calibDir, &id);
            calibInfo = id.toJson();
            calibInfo["cache"] = a.calibDir;
        } else {
            tokenizer = loadTokenizer(a.model);
            StderrProgress progress("calibrate");
            auto out = calibrateFromText(*model, *tokenizer, calibrationRequest(a.calib), cliJob(progress));
            progress.finish();
            stats = std::move(out.stats);
            calibInfo = out.identity.toJson();
            calibInfo["text"] = a.calib.text;
        }
    }
    const double calibSeconds = since(t0);

    const auto dense = settings.update ? snapshotDenseWeights(*model) : std::vector<std::vector<at::Tensor>>{};
    StderrProgress progress("compress");
    CompressionResult result = compressModel(*model, needStats ? &stats : nullptr, plan, cliJob(progress));
    progress.finish();
    double updateSeconds = 0;
    if (settings.update) {
        const auto tu = std::chrono::steady_clock::now();
        std::string text = !a.updateText.empty() ? a.updateText : a.calib.text;
        if (text.empty())
            throw Error("--update with --calib needs --update-text FILE (the statistics are collected on the compressed model)");
        if (!tokenizer)
            tokenizer = loadTokenizer(a.model);
        CalibrationRequest request = calibrationRequest(a.calib);
        request.text = text;
        StderrProgress updateProgress("update");
        auto updated = calibrateFromText(*model, *tokenizer, request, cliJob(updateProgress));
        updateProgress.finish();
        refitCoefficients(*model, dense, updated.stats, plan);
        updateSeconds = since(tu);
        calibInfo["update_text"] = text;
    }
    saveCompressedModel(*model, result, a.out, {{"calibration", calibInfo}}, cliJob());
    const double seconds = since(t0);

    nlohmann::json ks = nlohmann::json::object();
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        nlohmann::json k = nlohmann::json::array();
        for (const GroupPlan& g : p.groups)
            k.push_back(g.k);
        ks[p.spec->part] = k;
    }
    std::printf("%s: %s, ratio %.2f%%, group size %lld%s -> %s\n", a.model.c_str(), methodName(settings.method).c_str(),
                settings.ratio, (long long)plan.settings.groupSize, settings.update ? ", update" : "", a.out.c_str());
    std::printf("  target projections %lld -> %lld parameters (%.2f%% removed); model %lld -> %lld (%.2f%% removed)\n",
                (long long)plan.targetBefore, (long long)plan.targetAfter, plan.removedPercentOfTarget(),
                (long long)plan.modelBefore, (long long)plan.modelAfter, plan.removedPercentOfModel());
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed) {
            std::printf("  %-14s dense\n", p.spec->part.c_str());
            continue;
        }
        std::string k;
        for (const GroupPlan& g : p.groups)
            k += (k.empty() ? "" : ",") + std::to_string(g.k);
        std::printf("  %-14s %-7s k = %s\n", p.spec->part.c_str(), p.shared ? "shared" : "private", k.c_str());
    }
    std::printf("  %.2f s (calibration %.2f s, factorization %.2f s, update %.2f s)\n", seconds, calibSeconds, result.seconds,
                updateSeconds);
    if (a.json)
        std::cout << nlohmann::json{{"method", methodName(settings.method)},
                                    {"ratio", settings.ratio},
                                    {"group_size", plan.settings.groupSize},
                                    {"update", settings.update},
                                    {"shared", plan.settings.shared},
                                    {"private", plan.settings.privateParts},
                                    {"k", ks},
                                    {"target_parameters_before", plan.targetBefore},
                                    {"target_parameters_after", plan.targetAfter},
                                    {"model_parameters_before", plan.modelBefore},
                                    {"model_parameters_after", plan.modelAfter},
                                    {"removed_percent_of_target", plan.removedPercentOfTarget()},
                                    {"seconds", seconds},
                                    {"calibration_seconds", calibSeconds},
                                    {"factorization_seconds", result.seconds},
                                    {"update_seconds", updateSeconds},
                                    {"out", a.out}}.dump()
                  << std::endl;
    return 0;
}

int runExport(const ExportArgs& a)
{
    prepareOutputFolder(a.out, OutputKind::DenseModel, {a.model}, {}, logLine);
    auto model = DecoderModel::load(a.model, RunOptions{"cpu", "float32", 0});
    if (!model->config().raw.contains("compression"))
        throw Error(a.model + ": not a compressed model folder (config.json has no compression section)");
    exportDense(*model, a.out, cliJob());
    std::printf("wrote %s: dense Hugging Face checkpoint with W = B C reconstructed\n", a.out.c_str());
    return 0;
}

} // namespace basis::cli
