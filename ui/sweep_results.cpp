#include "sweep_results.h"

#include <cmath>
#include <filesystem>
#include <limits>

namespace basis::ui {

namespace {

double number(const nlohmann::json& o, const char* key, double fallback = std::numeric_limits<double>::quiet_NaN())
{
    return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<double>() : fallback;
}

int64_t integer(const nlohmann::json& o, const char* key)
{
    return o.is_object() && o.contains(key) && o[key].is_number() ? o[key].get<int64_t>() : 0;
}

std::string text(const nlohmann::json& o, const char* key)
{
    return o.is_object() && o.contains(key) && o[key].is_string() ? o[key].get<std::string>() : std::string();
}

ModelVariant variantOf(const nlohmann::json& record)
{
    const nlohmann::json cfg = record.value("config", nlohmann::json::object());
    const nlohmann::json par = record.value("parameters", nlohmann::json::object());
    const nlohmann::json by = record.value("bytes", nlohmann::json::object());
    ModelVariant v;
    v.method = text(cfg, "method");
    v.variant = v.method == "dense" ? "dense" : "compressed";
    v.ratio = number(cfg, "ratio", 0);
    v.budget = number(cfg, "budget", 0);
    v.allocator = v.budget > 0 ? text(cfg, "allocator") : std::string();
    v.groupSize = integer(cfg, "group_size");
    v.parameters = integer(par, "model_after");
    v.denseParameters = integer(par, "model_before");
    v.bytes = integer(by, "model_after");
    v.denseBytes = integer(by, "model_before");
    return v;
}

} // namespace

std::vector<EvalResult> resultsFromSweepRecord(const nlohmann::json& record)
{
    std::vector<EvalResult> rows;
    if (!record.is_object() || !record.contains("results") || !record["results"].is_object())
        return rows;
    const ModelVariant model = variantOf(record);
    const double seconds = number(record.value("timings", nlohmann::json::object()), "evaluate", 0);
    for (auto it = record["results"].begin(); it != record["results"].end(); ++it) {
        const nlohmann::json& v = it.value();
        EvalResult r;
        r.model = model;
        r.seconds = seconds;
        if (v.contains("ppl,none")) {
            r.kind = QStringLiteral("perplexity");
            std::string source = text(v, "source");
            if (source.empty())
                source = std::filesystem::path(text(v, "text")).filename().string();
            r.evaluation = QStringLiteral("%1, context %2, stride %3, %4")
                               .arg(QString::fromStdString(source))
                               .arg(integer(v, "context"))
                               .arg(integer(v, "stride"))
                               .arg(QString::fromStdString(text(v, "protocol")));
            r.ppl = number(v, "ppl,none");
        } else if (v.contains("acc,none")) {
            r.kind = QStringLiteral("tasks");
            r.evaluation = QStringLiteral("%1, %2 items, %3")
                               .arg(QString::fromStdString(it.key()))
                               .arg(integer(v, "samples"))
                               .arg(QString::fromStdString(std::filesystem::path(text(v, "data")).filename().string()));
            r.acc = number(v, "acc,none");
            r.accStderr = number(v, "acc_stderr,none");
            r.accNorm = number(v, "acc_norm,none");
            r.accNormStderr = number(v, "acc_norm_stderr,none");
        } else if (v.contains("decode_tokens_per_second,none")) {
            r.kind = QStringLiteral("throughput");
            r.evaluation = QStringLiteral("prompt %1, generate %2, batch 1, %3 repeats")
                               .arg(integer(v, "prompt_len"))
                               .arg(integer(v, "gen_len"))
                               .arg(integer(v, "repeats"));
            r.prefillTokensPerSecond = number(v, "prefill_tokens_per_second,none");
            r.decodeTokensPerSecond = number(v, "decode_tokens_per_second,none");
        } else {
            continue;
        }
        rows.push_back(r);
    }
    return rows;
}

std::vector<EvalResult> resultsFromSweepRecords(const std::vector<nlohmann::json>& records)
{
    std::vector<EvalResult> rows;
    for (const nlohmann::json& r : records)
        for (EvalResult& e : resultsFromSweepRecord(r))
            rows.push_back(std::move(e));
    return rows;
}

} // namespace basis::ui
