#include "sweep.h"

#include "atomic_file.h"
#include "config_jobs.h"
#include "error.h"
#include "method_registry.h"
#include "model_location.h"
#include "results_json.h"
#include "workspace.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace basis {

namespace fs = std::filesystem;

namespace {

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// "30", "12.5": a percent as short as it reads.
std::string percentText(double v)
{
    std::ostringstream s;
    s << v;
    return s.str();
}

nlohmann::json orNull(bool present, double v) { return present ? nlohmann::json(v) : nlohmann::json(nullptr); }

nlohmann::json compressionRecord(const CompressionSummary& s)
{
    const CompressionPlan& plan = s.plan;
    return {{"ranks", groupRanksJson(plan)},
            {"shared", plan.settings.shared},
            {"private", plan.settings.privateParts},
            {"parameters",
             {{"model_before", plan.modelBefore}, {"model_after", plan.modelAfter}, {"target_before", plan.targetBefore},
              {"target_after", plan.targetAfter}, {"removed_percent_of_target", plan.removedPercentOfTarget()},
              {"kept_percent_of_model", 100.0 * double(plan.modelAfter) / double(plan.modelBefore)}}},
            {"bytes",
             {{"model_before", plan.modelBytesBefore}, {"model_after", plan.modelBytesAfter},
              {"target_before", plan.targetBytesBefore}, {"target_after", plan.targetBytesAfter},
              {"bits_per_weight", plan.bitsPerWeight()}}},
            {"allocator_candidates", allocatorCandidatesJson(s.allocatorCandidates)}};
}

std::string csvField(const std::string& v)
{
    if (v.find_first_of(",\"\n\r") == std::string::npos)
        return v;
    std::string out = "\"";
    for (char c : v)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string csvValue(const nlohmann::json& v)
{
    if (v.is_null())
        return "";
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_number_float()) {
        std::ostringstream s;
        s.precision(17);
        s << v.get<double>();
        return s.str();
    }
    if (v.is_array() || v.is_object())
        return v.dump();
    return v.dump();
}

} // namespace

std::vector<SweepPoint> expandSweep(const RunConfig& c)
{
    if (!c.sweep)
        throw Error("this config has no sweep: section (methods, budgets or ratios, group_sizes, allocators, results)");
    const SweepSpec& w = *c.sweep;
    const CompressOptions base = compressOptionsFrom(c);
    std::vector<SweepPoint> runs;
    std::set<std::string> seen;
    auto add = [&](SweepPoint p) {
        if (seen.insert(p.id).second)
            runs.push_back(std::move(p));
    };
    if (w.dense)
        add({"dense", true, base.settings});
    const std::vector<std::string> methods = w.methods.empty() ? std::vector<std::string>{c.method} : w.methods;
    const std::vector<int64_t> groups = w.groupSizes.empty() ? std::vector<int64_t>{c.groupSize} : w.groupSizes;
    for (const std::string& name : methods) {
        const CompressionMethod& m = method(name);
        CompressionSettings s = base.settings;
        s.method = name;
        s.groupRanks.clear();
        if (m.featureSpace() && !w.budgets.empty()) {
            // Feature-space methods at the exact budgets (feature_space_plan.h: shared out uniformly, a rank per
            // projection): the budget sets every rank, so the base config's energy, fraction or ranks do not apply.
            for (double b : w.budgets) {
                CompressionSettings x = s;
                x.budget = b;
                x.allocator = "uniform";
                x.groupSize = 1;
                x.featureSpace.energy.reset();
                x.featureSpace.fraction.reset();
                x.featureSpace.ranksFile.clear();
                x.featureSpace.ranks.clear();
                add({name + " budget " + percentText(b) + " uniform", false, x});
            }
            continue;
        }
        if (!m.uses(setting::Ratio)) {   // quantizers, and feature-space methods without budgets: as configured
            s.budget = 0;
            s.allocator = "uniform";
            add({name + " as configured", false, s});
            continue;
        }
        auto forGroups = [&](const std::function<void(int64_t g)>& fn) {
            if (!m.groupsLayers())
                fn(1);
            else
                for (int64_t g : groups)
                    fn(g);
        };
        for (double b : w.budgets)
            for (const std::string& a : w.allocators)
                forGroups([&](int64_t g) {
                    CompressionSettings x = s;
                    x.budget = b;
                    x.allocator = a;
                    x.groupSize = g;
                    add({name + " budget " + percentText(b) + " g" + std::to_string(g) + " " + a, false, x});
                });
        for (double r : w.ratios)
            forGroups([&](int64_t g) {
                CompressionSettings x = s;
                x.ratio = r;
                x.budget = 0;
                x.allocator = "uniform";
                x.groupSize = g;
                add({name + " ratio " + percentText(r) + " g" + std::to_string(g), false, x});
            });
    }
    return runs;
}

nlohmann::json sweepBase(const RunConfig& c)
{
    const CalibrateOptions cal = calibrateOptionsFrom(c);
    const CompressOptions comp = compressOptionsFrom(c);
    nlohmann::json evaluations = nlohmann::json::array();
    for (const PplEvaluation& e : c.evaluations) {
        const PerplexityJobOptions o = perplexityOptionsFrom(c, e);
        evaluations.push_back({{"ppl", evaluationName(o)}, {"text", o.text.string()}, {"dataset", o.dataset},
                               {"context", o.context}, {"stride", o.stride}, {"protocol", o.protocol},
                               {"rank_strategy", o.rank.strategy}, {"rank_budget", o.rank.budget},
                               {"rank_energy", o.rank.energy}, {"prompt_tokens", o.rank.promptTokens}});
    }
    for (const TasksEvaluation& t : c.tasks)
        evaluations.push_back({{"task", t.task}, {"data", t.data}, {"limit", t.limit}});
    for (const ThroughputEvaluation& t : c.throughput)
        evaluations.push_back({{"throughput", evaluationName(throughputOptionsFrom(t))}});
    return {{"model", c.modelPath},
            {"calibration",
             {{"text", cal.text.string()}, {"dataset", cal.dataset}, {"cache", c.buildCalib ? "" : c.calibPath},
              {"samples", cal.samples}, {"context", cal.context}, {"sampling", cal.sampling}, {"seed", cal.seed},
              {"bos", cal.bos}}},
            {"shared", comp.settings.shared},
            {"private", comp.settings.privateParts},
            {"part_weights", comp.settings.partWeights},
            {"update", comp.settings.update},
            {"allocator_text", comp.allocatorText.string()},
            {"allocator_windows", comp.allocatorWindows},
            {"dtype", c.dtype},
            {"evaluations", evaluations}};
}

fs::path sweepCsvPath(const fs::path& jsonl)
{
    fs::path csv = jsonl;
    return csv.replace_extension(".csv");
}

std::vector<nlohmann::json> readSweepResults(const fs::path& file)
{
    std::ifstream in(file);
    if (!in)
        throw Error(file.string() + ": cannot read the sweep's results file");
    std::vector<nlohmann::json> records;
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos)
            continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw Error(file.string() + ":" + std::to_string(n) + ": not a JSON record (" + e.what() + ")");
        }
        if (!j.is_object() || !j.contains("run_id") || !j["run_id"].is_string())
            throw Error(file.string() + ":" + std::to_string(n) + ": a sweep record is a JSON object with a run_id");
        records.push_back(std::move(j));
    }
    return records;
}

std::string sweepCsv(const std::vector<nlohmann::json>& records)
{
    // Metric columns: "<evaluation> <metric>" for each number in each evaluation's results, in order of appearance.
    std::vector<std::pair<std::string, std::string>> metrics;
    std::set<std::pair<std::string, std::string>> known;
    for (const nlohmann::json& r : records)
        if (r.contains("results"))
            for (auto e = r["results"].begin(); e != r["results"].end(); ++e)
                for (auto m = e.value().begin(); m != e.value().end(); ++m)
                    if (m.value().is_number() && m.key().find(",none") != std::string::npos &&
                        known.insert({e.key(), m.key()}).second)
                        metrics.push_back({e.key(), m.key()});
    const std::vector<std::string> fixed{"run_id", "method", "ratio", "budget", "group_size", "allocator",
                                         "model_parameters", "dense_parameters", "kept_percent_of_model",
                                         "target_parameters", "removed_percent_of_target", "model_bytes",
                                         "bits_per_weight"};
    std::string out;
    for (size_t i = 0; i < fixed.size(); ++i)
        out += (i ? "," : "") + fixed[i];
    for (const auto& [e, m] : metrics)
        out += "," + csvField(e + " " + m.substr(0, m.find(',')));
    out += ",compress_seconds,evaluate_seconds\n";
    for (const nlohmann::json& r : records) {
        const nlohmann::json& cfg = r.value("config", nlohmann::json::object());
        const nlohmann::json& par = r.value("parameters", nlohmann::json::object());
        const nlohmann::json& by = r.value("bytes", nlohmann::json::object());
        const nlohmann::json& t = r.value("timings", nlohmann::json::object());
        const nlohmann::json null;
        auto get = [&](const nlohmann::json& o, const char* k) { return o.contains(k) ? o[k] : null; };
        const std::vector<nlohmann::json> values{r["run_id"], get(cfg, "method"), get(cfg, "ratio"), get(cfg, "budget"),
                                                 get(cfg, "group_size"), get(cfg, "allocator"), get(par, "model_after"),
                                                 get(par, "model_before"), get(par, "kept_percent_of_model"),
                                                 get(par, "target_after"), get(par, "removed_percent_of_target"),
                                                 get(by, "model_after"), get(by, "bits_per_weight")};
        for (size_t i = 0; i < values.size(); ++i)
            out += (i ? "," : "") + csvField(csvValue(values[i]));
        for (const auto& [e, m] : metrics) {
            const nlohmann::json* v = r.contains("results") && r["results"].contains(e) && r["results"][e].contains(m)
                                          ? &r["results"][e][m] : nullptr;
            out += "," + (v ? csvField(csvValue(*v)) : std::string());
        }
        out += "," + csvValue(get(t, "compress")) + "," + csvValue(get(t, "evaluate")) + "\n";
    }
    return out;
}

SweepOutcome runSweep(const RunConfig& c, const SweepHooks& hooks)
{
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<SweepPoint> runs = expandSweep(c);
    const nlohmann::json base = sweepBase(c);
    SweepOutcome out;
    out.jsonl = c.sweep->results;
    out.csv = sweepCsvPath(out.jsonl);
    if (fs::is_directory(out.jsonl))
        throw Error(out.jsonl.string() + ": sweep.results is a folder; it names the results file (results.jsonl)");
    // The results' folder is made now, so a path that cannot be written fails before any work.
    std::error_code ec;
    if (!out.jsonl.parent_path().empty() && !fs::exists(out.jsonl.parent_path()) &&
        !fs::create_directories(out.jsonl.parent_path(), ec))
        throw Error(out.jsonl.parent_path().string() + ": cannot make the sweep's results folder: " + ec.message());

    // Resume: the records already there stay, in their order; only the runs they lack are made.
    std::map<std::string, size_t> done;
    if (fs::exists(out.jsonl)) {
        out.records = readSweepResults(out.jsonl);
        for (size_t i = 0; i < out.records.size(); ++i) {
            const nlohmann::json& r = out.records[i];
            if (r.value("sweep_base", nlohmann::json()) != base)
                throw Error(out.jsonl.string() + ":" + std::to_string(i + 1) + ": record '" + r["run_id"].get<std::string>() +
                            "' was made by a sweep of another model, calibration, parts or evaluations; name another "
                            "sweep.results or move that file away");
            done[r["run_id"].get<std::string>()] = i;
        }
    }
    auto write = [&] {
        std::string lines;
        for (const nlohmann::json& r : out.records)
            lines += r.dump() + "\n";
        writeFileAtomically(out.jsonl, lines);
        writeFileAtomically(out.csv, sweepCsv(out.records));
    };

    Workspace ws;
    bool loaded = false, calibrated = false;
    fs::path modelDir;
    for (size_t i = 0; i < runs.size(); ++i) {
        const SweepPoint& run = runs[i];
        if (const auto it = done.find(run.id); it != done.end()) {
            ++out.resumed;
            if (hooks.onRun)
                hooks.onRun(i, runs.size(), run, &out.records[it->second], true);
            continue;
        }
        hooks.job.checkCancelled();
        if (hooks.onRun)
            hooks.onRun(i, runs.size(), run, nullptr, false);
        if (!loaded) {
            modelDir = resolveModelFolder(c.modelPath);
            ws.load(modelDir, runSetupFrom(c), hooks.job);
            loaded = true;
        }
        const auto r0 = std::chrono::steady_clock::now();
        nlohmann::json record = {{"run_id", run.id}, {"sweep_base", base}};
        nlohmann::json timings = nlohmann::json::object();
        CompressOptions compress = compressOptionsFrom(c);
        compress.settings = run.settings;
        if (!run.dense) {
            ws.checkSettings(compress.settings);
            if (method(run.settings.method).needsStatistics() && !calibrated) {
                const auto c0 = std::chrono::steady_clock::now();
                if (!c.buildCalib) {
                    if (c.calibPath.empty())
                        throw Error("build_calib is false but calibration_args.calib_path names no cache");
                    ws.useCalibrationCache(c.calibPath, hooks.job);
                } else {
                    CalibrateOptions calibrate = calibrateOptionsFrom(c);
                    if (!calibrate.dataset.empty())
                        calibrate.text = datasetFile(calibrate.dataset, "calibration", calibrate.dataDir);
                    ws.calibrate(calibrate, hooks.job);
                }
                calibrated = true;
                timings["calibrate"] = since(c0);
            }
            const CompressionSummary s = ws.compress(compress, hooks.job);
            timings["compress"] = s.seconds;
            const CompressionSettings& st = s.plan.settings;
            record["config"] = {{"method", st.method},
                                {"ratio", orNull(st.budget == 0 && method(st.method).uses(setting::Ratio), st.ratio)},
                                {"budget", orNull(st.budget != 0, st.budget)},
                                {"group_size", st.groupSize},
                                {"allocator", st.budget != 0 ? nlohmann::json(st.allocator) : nlohmann::json(nullptr)},
                                {"update", st.update}};
            record.update(compressionRecord(s));
        } else {
            const ModelSummary& m = ws.model();
            record["config"] = {{"method", "dense"}, {"ratio", nullptr}, {"budget", nullptr}, {"group_size", nullptr},
                                {"allocator", nullptr}, {"update", false}};
            CompressionSettings any;   // any plan's dense side is the model's (g = 1 fits a one-layer model too)
            any.groupSize = 1;
            const CompressionPlan p = ws.plan(any);
            record["parameters"] = {{"model_before", m.parameters}, {"model_after", m.parameters},
                                    {"kept_percent_of_model", 100.0}};
            record["bytes"] = {{"model_before", p.modelBytesBefore}, {"model_after", p.modelBytesBefore}};
        }
        const auto e0 = std::chrono::steady_clock::now();
        nlohmann::json results = nlohmann::json::object();
        for (const PplEvaluation& e : c.evaluations) {
            PerplexityJobOptions o = perplexityOptionsFrom(c, e);
            o.compressed = !run.dense;
            if (run.dense && o.rank.active())
                continue;   // dynamic rank runs on factorized models only
            results[evaluationName(o)] = perplexityJson(ws.perplexity(o, hooks.job));
        }
        for (const TasksEvaluation& t : c.tasks) {
            TasksJobOptions o = tasksOptionsFrom(t);
            o.compressed = !run.dense;
            const TasksSummary s = ws.tasks(o, hooks.job);
            results[s.task] = tasksJson(s);
        }
        for (const ThroughputEvaluation& t : c.throughput) {
            ThroughputJobOptions o = throughputOptionsFrom(t);
            o.compressed = !run.dense;
            if (run.dense && o.rank.active())
                continue;
            results[evaluationName(o)] = throughputJson(ws.throughput(o, hooks.job), o);
        }
        timings["evaluate"] = since(e0);
        timings["total"] = since(r0);
        record["results"] = results;
        record["model"] = c.modelPath;
        record["timings"] = timings;
        out.records.push_back(record);
        done[run.id] = out.records.size() - 1;
        ++out.ran;
        write();
        if (hooks.onRun)
            hooks.onRun(i, runs.size(), run, &out.records.back(), false);
    }
    if (out.ran == 0 && !fs::exists(out.jsonl))
        write();   // nothing to run (an empty sweep): the files still say so
    out.seconds = since(t0);
    return out;
}

} // namespace basis
