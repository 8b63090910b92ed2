#include "rank_search.h"

#include "atomic_file.h"
#include "calibration_cache.h"
#include "decoder_model.h"
#include "error.h"
#include "feature_space_factorize.h"
#include "method_registry.h"
#include "perplexity.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace basis {

namespace fs = std::filesystem;

std::vector<double> searchFractions() { return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9}; }

namespace {

const char* kLogFormat = "basis-studio-search-log/1";

nlohmann::json trialJson(const SearchTrial& t)
{
    return {{"layer", t.layer}, {"part", t.part},           {"fraction", t.fraction}, {"rank", t.rank},
            {"ppl", t.ppl},     {"parameters", t.parameters}, {"accepted", t.accepted}};
}

// Reads a log: the header (first line) and the trials after it, in order.
std::vector<SearchTrial> readLog(const fs::path& log, const nlohmann::json& header, double* basePpl)
{
    std::istringstream in(readFile(log));
    std::string line;
    std::vector<SearchTrial> trials;
    int64_t n = 0;
    while (std::getline(in, line)) {
        ++n;
        if (line.empty())
            continue;
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const std::exception& e) {
            throw Error(log.string() + ":" + std::to_string(n) + ": not JSON (" + e.what() + "); pass --restart to start over");
        }
        if (n == 1) {
            if (!j.is_object() || j.value("format", std::string()) != kLogFormat)
                throw Error(log.string() + ": not a search log (format " + kLogFormat + " expected)");
            for (auto it = header.begin(); it != header.end(); ++it)
                if (!j.contains(it.key()) || j[it.key()] != it.value())
                    throw Error(log.string() + ": written by another search (" + it.key() + " is " +
                                (j.contains(it.key()) ? j[it.key()].dump() : std::string("absent")) + " there, " +
                                it.value().dump() + " now); pass --restart or another --log");
            *basePpl = j.at("base_ppl").get<double>();
            continue;
        }
        try {
            SearchTrial t;
            t.layer = j.at("layer").get<int64_t>();
            t.part = j.at("part").get<std::string>();
            t.fraction = j.at("fraction").get<double>();
            t.rank = j.at("rank").get<int64_t>();
            t.ppl = j.at("ppl").get<double>();
            t.parameters = j.at("parameters").get<int64_t>();
            t.accepted = j.at("accepted").get<bool>();
            t.resumed = true;
            trials.push_back(t);
        } catch (const std::exception& e) {
            throw Error(log.string() + ":" + std::to_string(n) + ": malformed trial (" + e.what() + ")");
        }
    }
    if (n == 0)
        throw Error(log.string() + ": empty search log; pass --restart to start over");
    return trials;
}

std::string duration(double s)
{
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else
        std::snprintf(buf, sizeof buf, "%.0f min %.0f s", std::floor(s / 60), std::fmod(s, 60));
    return buf;
}

} // namespace

SearchSummary surgicalRankSearch(DecoderModel& model, const CalibrationStats& stats, const std::vector<int64_t>& allIds,
                                 const SearchOptions& o, const JobContext& job, const SearchTrialFn& onTrial)
{
    c10::InferenceMode inference;
    const auto started = std::chrono::steady_clock::now();
    const CompressionMethod& m = method(o.method);
    if (!m.featureSpace())
        throw Error("search: --method " + o.method + " does not pick a rank per projection (utilized, hybrid, "
                    "weight-svd or sfsd)");
    if (!(o.delta >= 0) || !std::isfinite(o.delta))
        throw Error("search: --delta must be a non-negative number, got " + std::to_string(o.delta));
    const int64_t L = model.layerCount();
    if (o.startLayer < 0 || o.startLayer >= L)
        throw Error("search: --start-layer must be in 0.." + std::to_string(L - 1) + ", got " + std::to_string(o.startLayer));
    if (o.context < 2)
        throw Error("search: the window (context) must be at least 2 tokens");
    if (o.searchTokens < 2)
        throw Error("search: --search-tokens must be at least 2");
    if (static_cast<int64_t>(allIds.size()) < o.searchTokens)
        throw Error("search: the search text has " + std::to_string(allIds.size()) + " tokens, fewer than --search-tokens " +
                    std::to_string(o.searchTokens));
    if (o.out.empty())
        throw Error("search: --out (the ranks JSON) is required");
    const std::vector<int64_t> ids(allIds.begin(), allIds.begin() + o.searchTokens);
    PplOptions ppl;
    ppl.context = o.context;
    ppl.stride = o.context;
    ppl.protocol = PplProtocol::WindowMean;
    const ArchTable& table = model.table();

    SearchSummary s;
    s.out = o.out;
    s.log = o.log.empty() ? fs::path(o.out.string() + ".log") : o.log;
    s.searchTokens = o.searchTokens;
    s.parametersBefore = model.parameterCount();
    // What must agree for a log to be continued.
    const nlohmann::json header = {{"method", o.method},
                                   {"delta", o.delta},
                                   {"search_tokens", o.searchTokens},
                                   {"context", o.context},
                                   {"start_layer", o.startLayer},
                                   {"text_fingerprint", tokensFingerprint(ids)},
                                   {"calibration_tokens", stats.tokens},
                                   {"model", ranksJson({}, model.config(), table).at("model")}};
    std::vector<SearchTrial> logged;
    std::string logText;
    if (fs::exists(s.log) && !o.restart) {
        logged = readLog(s.log, header, &s.basePpl);
        logText = readFile(s.log);
        if (!logText.empty() && logText.back() != '\n')
            logText += '\n';
        job.note("search: resuming " + s.log.string() + " (" + std::to_string(logged.size()) + " trials done)");
    } else {
        job.report(0, 1, "search: perplexity of the dense model");
        s.basePpl = evaluatePerplexity(model, ids, ppl, job).ppl;
        nlohmann::json h = header;
        h["format"] = kLogFormat;
        h["base_ppl"] = s.basePpl;
        logText = h.dump() + "\n";
        writeFileAtomically(s.log, logText);
    }
    const double budget = s.basePpl * (1.0 + o.delta);

    // Visiting order: last layer first; inside a layer, the architecture's projections in reverse.
    std::vector<std::pair<int64_t, size_t>> order;
    for (int64_t l = L - 1; l >= o.startLayer; --l)
        for (size_t i = table.projections.size(); i-- > 0;)
            order.emplace_back(l, i);
    for (const ProjectionSpec& p : table.projections)
        s.ranks[p.part].assign(static_cast<size_t>(L), kDenseRank);

    size_t cursor = 0;   // next logged trial to replay
    double ranSeconds = 0;
    int64_t ranProjections = 0;
    for (size_t v = 0; v < order.size(); ++v) {
        const auto [l, i] = order[v];
        const ProjectionSpec& spec = table.projections[i];
        const int64_t mOut = spec.out, dIn = spec.in;
        const LinearSlot dense = model.slot(l, i);   // restored after a rejected candidate
        std::unique_ptr<ProjectionDecomposition> dec;
        auto decomposition = [&]() -> const ProjectionDecomposition& {
            if (!dec)   // from the dense weights and the dense model's statistics, whatever was accepted before
                dec = std::make_unique<ProjectionDecomposition>(decomposeSlot(o.method, model, l, i, &stats));
            return *dec;
        };
        const auto t0 = std::chrono::steady_clock::now();
        bool ran = false;
        int64_t previousRank = 0;
        for (double f : searchFractions()) {
            job.checkCancelled();
            const int64_t r = fractionRank(f, mOut, dIn);
            if (r == previousRank)
                continue;   // the same factorization as the candidate just rejected: the same perplexity
            previousRank = r;
            SearchTrial t;
            if (cursor < logged.size()) {
                t = logged[cursor++];
                if (t.layer != l || t.part != spec.part || t.rank != r || std::fabs(t.fraction - f) > 1e-12)
                    throw Error(s.log.string() + ": trial " + std::to_string(cursor) + " is " + t.part + " layer " +
                                std::to_string(t.layer) + " f = " + std::to_string(t.fraction) + ", the search expects " +
                                spec.part + " layer " + std::to_string(l) + " f = " + std::to_string(f) +
                                "; pass --restart to start over");
                ++s.resumedTrials;
                if (t.accepted)
                    installFactors(model, l, i, decomposition().factors(r));
            } else {
                ran = true;
                installFactors(model, l, i, decomposition().factors(r));
                t.layer = l;
                t.part = spec.part;
                t.fraction = f;
                t.rank = r;
                t.ppl = evaluatePerplexity(model, ids, ppl).ppl;
                t.parameters = model.parameterCount();
                t.accepted = t.ppl <= budget;
                if (!t.accepted)
                    model.slot(l, i) = dense;
                logText += trialJson(t).dump() + "\n";
                writeFileAtomically(s.log, logText);
            }
            s.trials.push_back(t);
            if (onTrial)
                onTrial(t);
            if (t.accepted) {
                s.ranks[spec.part][static_cast<size_t>(l)] = r;
                break;
            }
        }
        if (ran) {
            ranSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            ++ranProjections;
        }
        const int64_t left = static_cast<int64_t>(order.size() - v - 1);
        const std::string eta = ranProjections ? ", ETA " + duration(ranSeconds / ranProjections * left) : "";
        const int64_t chosen = s.ranks[spec.part][static_cast<size_t>(l)];
        job.report(static_cast<int64_t>(v + 1), static_cast<int64_t>(order.size()),
                   "search: layer " + std::to_string(l) + " " + spec.part + " -> " +
                       (chosen == kDenseRank ? std::string("dense") : "rank " + std::to_string(chosen)) + eta);
    }
    if (cursor < logged.size())
        throw Error(s.log.string() + ": holds " + std::to_string(logged.size() - cursor) +
                    " trial(s) more than this search makes; pass --restart to start over");

    s.finalPpl = evaluatePerplexity(model, ids, ppl).ppl;
    s.parametersAfter = model.parameterCount();
    nlohmann::json fractions = nlohmann::json::object();
    for (const SearchTrial& t : s.trials)
        if (t.accepted)
            fractions[t.part + "." + std::to_string(t.layer)] = t.fraction;
    const nlohmann::json extra = {{"search",
                                   {{"method", o.method},
                                    {"delta", o.delta},
                                    {"search_tokens", o.searchTokens},
                                    {"context", o.context},
                                    {"start_layer", o.startLayer},
                                    {"base_ppl", s.basePpl},
                                    {"final_ppl", s.finalPpl},
                                    {"fractions", fractions},
                                    {"log", s.log.string()}}}};
    writeFileAtomically(o.out, ranksJson(s.ranks, model.config(), table, extra).dump(2) + "\n");
    s.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return s;
}

} // namespace basis
