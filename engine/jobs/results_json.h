#pragma once
// The lm-evaluation-harness-shaped JSON of each evaluation, as `basis-cli run` and `basis-cli sweep` write it
// ("ppl,none", "acc,none", ...). Torch-free.
#include "job_options.h"
#include "job_results.h"

#include <nlohmann/json.hpp>

namespace basis {

nlohmann::json perplexityJson(const PerplexitySummary& s);
// Greedy generation from a fixed pseudo-random prompt: prefill and decode rates, medians after the warm-up.
nlohmann::json throughputJson(const ThroughputSummary& s, const ThroughputJobOptions& o);
nlohmann::json tasksJson(const TasksSummary& s);
// A compression's rank per group of every compressed part ({"q": [k0, k1, ...], ...}), and the loss allocator's
// candidates ([{label, target_parameters_after, loss, chosen}]): what `compress --json` and sweep records carry.
nlohmann::json groupRanksJson(const CompressionPlan& plan);
nlohmann::json allocatorCandidatesJson(const std::vector<AllocatorCandidate>& candidates);

} // namespace basis
