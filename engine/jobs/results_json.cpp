#include "results_json.h"

#include "rank_strategy.h"

namespace basis {

nlohmann::json perplexityJson(const PerplexitySummary& s)
{
    const PplResult& r = s.result;
    nlohmann::json j = {{"ppl,none", r.ppl},
            {"ppl_window_mean,none", r.pplWindowMean},
            {"ppl_token_mean,none", r.pplTokenMean},
            {"nll,none", r.nll},
            {"protocol", protocolName(r.protocol)},
            {"context", r.context},
            {"stride", r.stride},
            {"bos", s.bosAdded ? "once at the start" : "none"},
            {"tokens", r.tokens},
            {"windows", r.windows},
            {"text", s.file.string()},
            {"source", s.source},
            {"recipe", s.recipe},
            {"passes", r.layerwise ? "layerwise" : "whole"}};
    if (r.layerwise)
        j["chunks"] = r.chunks;
    if (s.rank)
        j["rank"] = rankStatisticsJson(*s.rank);
    return j;
}

nlohmann::json throughputJson(const ThroughputSummary& s, const ThroughputJobOptions& o)
{
    const ThroughputResult& r = s.result;
    nlohmann::json j = {{"prefill_tokens_per_second,none", r.prefillTokensPerSecond},
            {"decode_tokens_per_second,none", r.decodeTokensPerSecond},
            {"time_to_first_token_seconds,none", r.timeToFirstTokenSeconds},
            {"peak_memory_bytes,none", r.peakMemoryBytes},
            {"peak_memory_kind", r.peakMemoryKind},
            {"prompt_len", o.promptLen},
            {"gen_len", o.genLen},
            {"repeats", o.repeats}};
    if (s.rank)
        j["rank"] = rankStatisticsJson(*s.rank);
    return j;
}

nlohmann::json groupRanksJson(const CompressionPlan& plan)
{
    nlohmann::json ranks = nlohmann::json::object();
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        nlohmann::json k = nlohmann::json::array();
        for (const GroupPlan& g : p.groups)
            k.push_back(g.k);
        ranks[p.spec->part] = k;
    }
    return ranks;
}

nlohmann::json allocatorCandidatesJson(const std::vector<AllocatorCandidate>& candidates)
{
    nlohmann::json list = nlohmann::json::array();
    for (const AllocatorCandidate& c : candidates)
        list.push_back({{"label", c.label}, {"target_parameters_after", c.keptWeights}, {"loss", c.loss}, {"chosen", c.chosen}});
    return list;
}

nlohmann::json tasksJson(const TasksSummary& s)
{
    const McResult& r = s.result;
    auto se = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
    nlohmann::json m = {{"alias", s.task}, {"acc,none", r.acc}, {"acc_stderr,none", se(r.accStderr)},
                        {"samples", r.items}, {"data", s.data}, {"bos", r.bosAdded ? "added" : "none"}};
    if (r.reportsAccNorm) {
        m["acc_norm,none"] = r.accNorm;
        m["acc_norm_stderr,none"] = se(r.accNormStderr);
    }
    return m;
}

} // namespace basis
