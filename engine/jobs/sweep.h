#pragma once
// `basis-cli sweep` and the studio's Sweep dialog: every setting of a config's `sweep:` section compressed from
// one calibration, evaluated with basis_studio.evaluate, and written as it finishes to results.jsonl (one
// lm-evaluation-harness-shaped record per run) and results.csv beside it (one row per run). Resumable: a sweep
// started again on the same results file keeps the records there and runs only the settings they lack, so the
// files it ends with equal an uninterrupted sweep's, timings apart. Torch-free header.
#include "compression_plan.h"
#include "progress.h"
#include "run_config.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace basis {

// One run of a sweep: the dense model, or the base config's compression with the sweep's method, budget or ratio,
// group size and allocator.
struct SweepPoint {
    std::string id;                  // stable and readable: "dense", "svd-llm budget 30 g1 uniform", ...
    bool dense = false;
    CompressionSettings settings;
};

// The sweep's runs in order: the dense one (sweep.dense), then per method: budgets x allocators x group sizes,
// then ratios x group sizes (the published rule, uniform). A method that does not group layers runs at g = 1 once;
// a method that takes no ratio (quantizers, feature-space methods) runs once with the base config's settings.
std::vector<SweepPoint> expandSweep(const RunConfig& c);

// What every record of one sweep shares (model, calibration, parts, update, evaluations): a results file whose
// records carry another base is refused instead of mixed.
nlohmann::json sweepBase(const RunConfig& c);

struct SweepHooks {
    JobContext job;                  // the current run's progress, the cancel token and log lines
    // Before each run (record null) and after it (its record); `index` counts from 0 over expandSweep's runs,
    // `resumed` says the record was read back from the results file.
    std::function<void(size_t index, size_t total, const SweepPoint& run, const nlohmann::json* record, bool resumed)> onRun;
};

struct SweepOutcome {
    std::vector<nlohmann::json> records;   // the results file's, in order
    size_t ran = 0, resumed = 0;
    std::filesystem::path jsonl, csv;
    double seconds = 0;
};

// Runs what the results file lacks. Throws basis::Error for a config without `sweep:` or a results file that
// is not one of this sweep's (naming the file and line), basis::Cancelled when cancelled (what finished is written).
SweepOutcome runSweep(const RunConfig& c, const SweepHooks& hooks = {});

// A results.jsonl: one JSON object per non-blank line. Throws basis::Error naming the file and line otherwise.
std::vector<nlohmann::json> readSweepResults(const std::filesystem::path& file);
// The CSV of the records: one row per run, the settings, counts and bytes, then one column per metric of every
// evaluation (in order of first appearance), then the timings.
std::string sweepCsv(const std::vector<nlohmann::json>& records);
// results.jsonl -> results.csv
std::filesystem::path sweepCsvPath(const std::filesystem::path& jsonl);

} // namespace basis
