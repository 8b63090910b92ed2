#pragma once
// A sweep's records (engine/jobs/sweep.h: results.jsonl) as rows of the Evaluate tab, so that a sweep run in the
// studio, a results file opened there and `basis-studio --plot` draw the same points as single runs.
#include "eval_results_model.h"

#include <nlohmann/json.hpp>

#include <vector>

namespace basis::ui {

// One row per perplexity, zero-shot task and throughput result of the record, labelled as single runs of the
// Evaluate tab label theirs ("eval.txt, context 512, stride 512, window-mean").
std::vector<EvalResult> resultsFromSweepRecord(const nlohmann::json& record);
std::vector<EvalResult> resultsFromSweepRecords(const std::vector<nlohmann::json>& records);

} // namespace basis::ui
