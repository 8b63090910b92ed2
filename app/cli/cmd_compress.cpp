// basis-cli calibrate / compress / export: the Workspace's jobs, printed.
#include "cli_progress.h"
#include "cli_memory.h"
#include "commands.h"

#include "atomic_file.h"
#include "error.h"
#include "feature_space_plan.h"
#include "method_registry.h"
#include "output_folder.h"
#include "memory_usage.h"
#include "results_json.h"
#include "workspace.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>

namespace basis::cli {

namespace {

bool isQuantizing(const CompressionSettings& s) { return method(s.method).storageLayout() == "quantized-lowrank"; }

// Each method flag given must be a setting of the method (a flag it ignores would be a silent no-op), and the
// methods that read the ratio need it.
void checkMethodFlags(const CompressArgs& a, const CompressionMethod& m)
{
    const std::vector<std::pair<std::string, const char*>> keys = {
        {"--ratio", setting::Ratio}, {"--bits", setting::Bits}, {"--rank", setting::Rank},
        {"--q-step", setting::QStep}, {"--iters", setting::Iters}, {"--factor-dtype", setting::FactorDtype}};
    const bool budgetGiven = std::find(a.methodFlags.begin(), a.methodFlags.end(), "--budget") != a.methodFlags.end();
    if (budgetGiven && std::find(a.methodFlags.begin(), a.methodFlags.end(), "--ratio") != a.methodFlags.end())
        throw Error("give one of --ratio (the published per-matrix rule) and --budget (an exact share), not both");
    for (const auto& [flag, key] : keys) {
        const bool given = std::find(a.methodFlags.begin(), a.methodFlags.end(), flag) != a.methodFlags.end();
        if (given && !m.uses(key))
            throw Error(flag + " is not a setting of " + m.name());
        if (!given && !budgetGiven && flag == "--ratio" && m.uses(key))
            throw Error("--ratio is required by " + m.name());
    }
}

// The ranks a compression chose, as a ranks file: every layer of a group carries the group's rank; the
// allocation section records how they were chosen and the group ranks themselves.
void writeRanksOut(const std::string& file, const ModelConfig& config, const CompressionSummary& s)
{
    const CompressionPlan& plan = s.plan;
    RankTable ranks;
    nlohmann::json groups = nlohmann::json::object();
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        std::vector<int64_t> perLayer(static_cast<size_t>(config.layers), 0);
        nlohmann::json list = nlohmann::json::array();
        for (const GroupPlan& g : p.groups) {
            for (int64_t l : g.layers)
                perLayer.at(static_cast<size_t>(l)) = g.k;
            list.push_back({{"layers", g.layers}, {"rank", g.k}});
        }
        ranks[p.spec->part] = perLayer;
        groups[p.spec->part] = list;
    }
    const nlohmann::json extra = {
        {"allocation",
         {{"method", plan.settings.method}, {"group_size", plan.settings.groupSize},
          {"shared", plan.settings.shared}, {"budget", plan.settings.budget != 0 ? nlohmann::json(plan.settings.budget) : nlohmann::json(nullptr)},
          {"ratio", plan.settings.budget != 0 ? nlohmann::json(nullptr) : nlohmann::json(plan.settings.ratio)},
          {"allocator", plan.settings.allocator}, {"target_parameters_before", plan.targetBefore},
          {"target_parameters_after", plan.targetAfter}, {"groups", groups}}}};
    writeFileAtomically(file, ranksJson(ranks, config, archTable(config), extra).dump(2) + "\n");
}

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// `asked`: the settings as given; the plan's are them resolved against the model (group size, parts).
void printCompression(const CompressArgs& a, const CompressionSettings& asked, const CompressionSummary& s)
{
    const CompressionPlan& plan = s.plan;
    if (isQuantizing(plan.settings))
        std::printf("%s: %s -> %s\n", a.model.c_str(), asked.method.c_str(), a.out.c_str());
    else if (method(asked.method).featureSpace())
        std::printf("%s: %s, a rank per projection, policy %s -> %s\n", a.model.c_str(), asked.method.c_str(),
                    asked.featureSpace.policy.c_str(), a.out.c_str());
    else if (asked.budget != 0)
        std::printf("%s: %s, exact budget %.2f%% (%s allocator), group size %lld%s -> %s\n", a.model.c_str(),
                    asked.method.c_str(), asked.budget, asked.allocator.c_str(), (long long)plan.settings.groupSize, asked.update ? ", update" : "", a.out.c_str());
    else
        std::printf("%s: %s, ratio %.2f%%, group size %lld%s -> %s\n", a.model.c_str(), asked.method.c_str(),
                    asked.ratio, (long long)plan.settings.groupSize, asked.update ? ", update" : "", a.out.c_str());
    std::printf("  target projections %lld -> %lld parameters (%.2f%% removed); model %lld -> %lld (%.2f%% removed)\n",
                (long long)plan.targetBefore, (long long)plan.targetAfter, plan.removedPercentOfTarget(),
                (long long)plan.modelBefore, (long long)plan.modelAfter, plan.removedPercentOfModel());
    std::printf("  bytes as stored: target projections %lld -> %lld, model %lld -> %lld; %.4f bits per weight "
                "(formula %.4f)\n",
                (long long)plan.targetBytesBefore, (long long)plan.targetBytesAfter, (long long)plan.modelBytesBefore,
                (long long)plan.modelBytesAfter, plan.bitsPerWeight(), plan.bitsPerWeightFormula);
    if (isQuantizing(plan.settings))
        std::printf("  Q %lld bits in groups of %lld columns, rank %lld, q step %s, %lld iteration(s), factors %s\n",
                    (long long)plan.settings.quant.bits, (long long)kQuantGroupColumns, (long long)plan.settings.quant.rank,
                    plan.settings.quant.qStep.c_str(), (long long)plan.settings.quant.iters,
                    plan.settings.quant.factorDtype.c_str());
    for (const AllocatorCandidate& c : s.allocatorCandidates)
        std::printf("  loss allocator %-22s %lld weights kept, loss %.6f%s\n", c.label.c_str(), (long long)c.keptWeights,
                    c.loss, c.chosen ? "  <- chosen" : "");
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed) {
            std::printf("  %-14s dense\n", p.spec->part.c_str());
            continue;
        }
        std::string k;
        for (const GroupPlan& g : p.groups)
            k += (k.empty() ? "" : ",") + std::to_string(g.k);
        if (p.groups.empty())
            k = "none (every layer dense by the break-even rule)";
        std::printf("  %-14s %-7s k = %s\n", p.spec->part.c_str(), p.shared ? "shared" : "private", k.c_str());
    }
}

nlohmann::json compressionJson(const CompressArgs& a, const CompressionSettings& asked, const CompressionSummary& s)
{
    const CompressionPlan& plan = s.plan;
    return {{"method", asked.method},
            {"ratio", method(asked.method).featureSpace() ? nlohmann::json(nullptr) : nlohmann::json(asked.ratio)},
            {"budget", asked.budget != 0 ? nlohmann::json(asked.budget) : nlohmann::json(nullptr)},
            {"allocator", asked.budget != 0 ? nlohmann::json(asked.allocator) : nlohmann::json(nullptr)},
            {"group_size", plan.settings.groupSize},
            {"update", asked.update},
            {"shared", plan.settings.shared},
            {"private", plan.settings.privateParts},
            {"k", groupRanksJson(plan)},
            {"target_parameters_before", plan.targetBefore},
            {"target_parameters_after", plan.targetAfter},
            {"model_parameters_before", plan.modelBefore},
            {"model_parameters_after", plan.modelAfter},
            {"removed_percent_of_target", plan.removedPercentOfTarget()},
            {"element_bytes", plan.elementBytes},
            {"target_bytes_before", plan.targetBytesBefore},
            {"target_bytes_after", plan.targetBytesAfter},
            {"model_bytes_before", plan.modelBytesBefore},
            {"model_bytes_after", plan.modelBytesAfter},
            {"bits_per_weight", plan.bitsPerWeight()},
            {"bits_per_weight_formula", plan.bitsPerWeightFormula},
            {"quant",
             isQuantizing(plan.settings)
                 ? nlohmann::json{{"bits", plan.settings.quant.bits}, {"rank", plan.settings.quant.rank},
                                  {"q_step", plan.settings.quant.qStep}, {"iters", plan.settings.quant.iters},
                                  {"factor_dtype", plan.settings.quant.factorDtype}}
                 : nlohmann::json()},
            {"allocator_candidates", allocatorCandidatesJson(s.allocatorCandidates)},
            {"out", a.out}};
}

// Per projection: the rank chosen (energy, fraction or file), after the policy, and what the break-even rule did.
void printFeatureSpace(const FeatureSpaceReport& r)
{
    std::printf("  %-6s %-14s %5s %5s %5s %6s %11s  %s\n", "layer", "part", "m", "d", "kappa", "chosen", "utilization",
                "rank after policy");
    for (const ProjectionRank& p : r.projections) {
        const std::string rank = p.chosen == kDenseRank ? "dense (ranks file)"
                                 : p.dense ? std::to_string(p.rank) + " -> dense" + (p.flipped ? " (policy flip)" : "")
                                           : std::to_string(p.rank);
        std::printf("  %-6lld %-14s %5lld %5lld %5lld %6s %11.4f  %s\n", (long long)p.layer, p.spec->part.c_str(),
                    (long long)p.m, (long long)p.d, (long long)p.kappa,
                    p.chosen == kDenseRank ? "-" : std::to_string(p.chosen).c_str(), p.utilization, rank.c_str());
    }
    std::printf("  mean layer utilization (MLU) %.4f; %lld projection(s) made dense by the policy\n", r.mlu,
                (long long)r.flips);
}

nlohmann::json featureSpaceJson(const FeatureSpaceReport& r, const CompressionSettings& s)
{
    nlohmann::json list = nlohmann::json::array();
    for (const ProjectionRank& p : r.projections)
        list.push_back({{"layer", p.layer}, {"part", p.spec->part}, {"m", p.m}, {"d", p.d}, {"kappa", p.kappa},
                        {"chosen_rank", p.chosen == kDenseRank ? nlohmann::json(nullptr) : nlohmann::json(p.chosen)},
                        {"rank", p.rank}, {"dense", p.dense}, {"policy_flip", p.flipped}, {"utilization", p.utilization}});
    nlohmann::json j = {{"policy", s.featureSpace.policy}, {"mlu", r.mlu}, {"policy_flips", r.flips}, {"projections", list}};
    if (s.featureSpace.fraction)
        j["fraction"] = *s.featureSpace.fraction;
    else if (!s.featureSpace.ranksFile.empty())
        j["ranks_file"] = s.featureSpace.ranksFile.string();
    else
        j["energy"] = energyFor(s.method, s.featureSpace);
    return j;
}

} // namespace

int runCalibrate(const CalibrateArgs& a)
{
    Workspace ws;
    const ModelSummary model = ws.load(a.model, a.run, loadJob());
    CalibrateOptions options = a.calib;
    options.cacheDir = a.out;
    for (int64_t g : a.spectra)   // 0 in the list means "none"
        if (g != 0)
            options.spectra.push_back(g);
    StderrProgress progress("calibrate");
    const CalibrationSummary s = ws.calibrate(options, cliJob(progress));
    progress.finish();
    const double rate = s.tokens / std::max(s.seconds, 1e-9);
    std::printf("%s %s: %lld samples, %lld tokens%s\n", s.reused ? "reused matching cache" : "wrote", a.out.c_str(),
                (long long)s.samples, (long long)s.tokens, s.reused ? "" : (", " + std::to_string(rate) + " tokens/s").c_str());
    if (s.activationBytes > 0)
        std::printf("  activations: %s %s\n", formatGigabytes(s.activationBytes).c_str(),
                    s.activationsOnDisk ? "in a scratch file beside the cache (file-backed, removed when done)" : "in memory");
    printWeightsPlacement(model);
    printMemory();
    if (a.json)
        std::cout << nlohmann::json{{"calib", a.out}, {"reused", s.reused}, {"samples", s.samples}, {"tokens", s.tokens},
                                    {"seconds", s.seconds}, {"tokens_per_second", rate}, {"device", model.device},
                                    {"weights", model.weights}, {"activations", s.activationsOnDisk ? "disk" : "memory"},
                                    {"activation_bytes", s.activationBytes}, {"memory", memoryJson()}}.dump()
                  << std::endl;
    return 0;
}

int runCompress(const CompressArgs& a)
{
    const auto t0 = std::chrono::steady_clock::now();
    Workspace ws;
    if (ws.load(a.model, a.run, loadJob()).compressed)
        throw Error(a.model + ": this folder is already compressed; compress the original model");
    CompressOptions options = a.compress;
    options.settings.method = method(a.method).name();
    options.shardBytes = parseShardSize(a.shardSize, "--shard-size");
    for (const std::string& pw : a.partWeights) {
        const size_t eq = pw.find('=');
        std::size_t used = 0;
        double w = 0;
        try {
            w = eq == std::string::npos ? 0 : std::stod(pw.substr(eq + 1), &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (eq == std::string::npos || eq == 0 || used == 0 || eq + 1 + used != pw.size())
            throw Error("--part-weight '" + pw + "': expected PART=WEIGHT, e.g. down=2");
        options.settings.partWeights[pw.substr(0, eq)] = w;
    }
    const CompressionSettings& settings = options.settings;
    const bool featureSpace = method(settings.method).featureSpace();
    const bool ratioGiven = std::find(a.methodFlags.begin(), a.methodFlags.end(), "--ratio") != a.methodFlags.end();
    if (featureSpace && ratioGiven)
        throw Error(settings.method + " picks a rank per projection: give --energy, --fraction or --ranks, not --ratio");
    checkMethodFlags(a, method(options.settings.method));
    if (!featureSpace && (settings.featureSpace.energy || settings.featureSpace.fraction ||
                          !settings.featureSpace.ranksFile.empty()))
        throw Error("--energy, --fraction and --ranks are settings of utilized, hybrid, weight-svd and sfsd, not of " +
                    settings.method);
    ws.checkSettings(settings);   // before any work (ranks by energy wait for the statistics)
    Workspace::prepareCompressedOutput(a.out, {a.model, a.calibDir}, cliJob());

    CalibrateOptions calib = a.calib;
    if (method(settings.method).needsStatistics() || settings.update) {
        if (a.calibDir.empty() && calib.text.empty())
            throw Error(settings.method + " needs calibration: pass --calib DIR or --text FILE");
        // The update reads its text as the calibration does (the flags' cut), by default the calibration text.
        if (settings.update && options.updateText.empty() && calib.text.empty())
            throw Error("--update with --calib needs --update-text FILE (the statistics are collected on the compressed model)");
        options.updateCalibration = calib;
        if (!a.calibDir.empty()) {
            ws.useCalibrationCache(a.calibDir, cliJob());
        } else {
            StderrProgress progress("calibrate");
            ws.calibrate(calib, cliJob(progress));
            progress.finish();
        }
    }
    const double calibSeconds = since(t0);

    CompressionSummary s;
    {
        // Without the update the folder is written as the groups are factorized (Workspace::compressInto).
        StderrProgress progress("compress");
        s = settings.update ? ws.factorize(options, cliJob(progress)) : ws.compressInto(options, a.out, cliJob(progress));
        progress.finish();
    }
    if (settings.update) {
        StderrProgress progress("update");
        s = ws.refit(options, cliJob(progress));
        progress.finish();
        ws.saveCompressed(a.out, {}, cliJob());
    }
    if (!a.ranksOut.empty())
        writeRanksOut(a.ranksOut, ws.model().config, s);
    const double seconds = since(t0);

    printCompression(a, settings, s);
    if (featureSpace)
        printFeatureSpace(featureSpaceReport(ws.model().config, archTable(ws.model().config), s.settings));
    std::printf("  %.2f s (calibration %.2f s, factorization %.2f s, update %.2f s)\n", seconds, calibSeconds,
                s.factorizeSeconds, s.refitSeconds);
    printMemory();
    if (a.json) {
        nlohmann::json j = compressionJson(a, settings, s);
        j["seconds"] = seconds;
        j["memory"] = memoryJson();
        j["calibration_seconds"] = calibSeconds;
        j["factorization_seconds"] = s.factorizeSeconds;
        j["update_seconds"] = s.refitSeconds;
        if (featureSpace)
            j["feature_space"] = featureSpaceJson(featureSpaceReport(ws.model().config, archTable(ws.model().config), s.settings),
                                                  s.settings);
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

int runExport(const ExportArgs& a)
{
    const uint64_t shardBytes = parseShardSize(a.shardSize, "--shard-size");
    prepareOutputFolder(a.out, OutputKind::DenseModel, {a.model}, {}, logLine);
    Workspace ws;
    // One thread, as export has always run (LibTorch's default): W = B C comes out byte for byte as before.
    ws.load(a.model, RunSetup{"cpu", "float32", 1}, loadJob());
    ws.exportDense(a.out, cliJob(), shardBytes);
    std::printf("wrote %s: dense Hugging Face checkpoint with W = B C reconstructed\n", a.out.c_str());
    printMemory();
    if (a.json) {
        // The weight files as written: one model.safetensors, or the shards (and their index, not listed).
        std::vector<std::string> files;
        for (const auto& entry : std::filesystem::directory_iterator(a.out))
            if (entry.path().extension() == ".safetensors")
                files.push_back(entry.path().filename().string());
        std::sort(files.begin(), files.end());
        std::cout << nlohmann::json{{"out", resolveOutputPath(a.out).string()}, {"model", a.model}, {"dense", true},
                                    {"weight_files", files}, {"memory", memoryJson()}}
                         .dump()
                  << std::endl;
    }
    return 0;
}

} // namespace basis::cli
