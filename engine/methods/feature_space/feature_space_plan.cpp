#include "feature_space_plan.h"

#include "error.h"
#include "atomic_file.h"
#include "param_count.h"
#include "rank_budget.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace basis {

int64_t breakEvenRank(int64_t m, int64_t d) { return (m * d) / (m + d); }

bool factorizationPays(int64_t r, int64_t m, int64_t d) { return r * (m + d) < m * d; }

std::vector<std::string> policyNames() { return {"uniform", "qkv_heavier", "mlp_heavier"}; }

double policyMultiplier(const std::string& policy, const ProjectionSpec& spec)
{
    const bool attention = spec.role == Role::Q || spec.role == Role::K || spec.role == Role::V ||
                           spec.role == Role::QKV || spec.role == Role::O;
    const bool mlpIn = spec.role == Role::Gate || spec.role == Role::Up || spec.role == Role::FcIn;
    if (policy == "uniform")
        return 1.0;
    if (policy == "qkv_heavier") {
        switch (spec.role) {
        case Role::Q: case Role::V: return 1.25;
        case Role::K: return 1.10;
        // GPT-2's fused c_attn is q, k and v at once: the mean of their multipliers (the issue names none).
        case Role::QKV: return (1.25 + 1.10 + 1.25) / 3.0;
        case Role::O: return 1.00;
        default: return 0.85;   // up/gate/fc1/c_fc and down/fc2/mlp.c_proj
        }
    }
    if (policy == "mlp_heavier")
        return attention ? 0.85 : (mlpIn ? 1.25 : 1.10);
    std::string known;
    for (const auto& n : policyNames())
        known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown rank policy '" + policy + "' (known: " + known + ")");
}

int64_t policyRank(int64_t r, double mult)
{
    return std::max<int64_t>(1, static_cast<int64_t>(std::round(static_cast<double>(r) * mult)));
}

double energyFor(const std::string& method, const FeatureSpaceSettings& s)
{
    if (s.energy)
        return *s.energy;
    return method == "weight-svd" ? 0.9995 : 0.99;
}

int64_t fractionRank(double f, int64_t m, int64_t d)
{
    return std::max<int64_t>(1, static_cast<int64_t>(std::floor(f * static_cast<double>(breakEvenRank(m, d)))));
}

void validateFeatureSpace(const std::string& method, const FeatureSpaceSettings& s)
{
    const int given = (s.energy ? 1 : 0) + (s.fraction ? 1 : 0) + (s.ranksFile.empty() ? 0 : 1);
    if (given > 1)
        throw Error(method + ": give one of --energy, --fraction and --ranks (YAML energy, fraction, ranks), not " +
                    std::to_string(given));
    if (s.energy && !(*s.energy > 0.0 && *s.energy <= 1.0))
        throw Error(method + ": energy must be in (0, 1], got " + std::to_string(*s.energy));
    if (s.fraction) {
        if (method != "sfsd")
            throw Error(method + ": a fraction of the break-even rank is an sfsd setting; use --energy or --ranks");
        if (!(*s.fraction > 0.0 && *s.fraction < 1.0))
            throw Error(method + ": fraction must be in (0, 1), got " + std::to_string(*s.fraction));
    }
    policyMultiplier(s.policy, ProjectionSpec{});   // throws for an unknown policy
}

bool ranksNeedStatistics(const FeatureSpaceSettings& s)
{
    return s.ranks.empty() && !s.fraction && s.ranksFile.empty();
}

CompressionSettings featureSpaceBudgetRanks(const ModelConfig& c, const ArchTable& table, const CompressionSettings& s)
{
    const FeatureSpaceSettings& f = s.featureSpace;
    // (Resolved ranks, f.ranks, are this function's own output when planned again: recomputed.)
    if (f.energy || f.fraction || !f.ranksFile.empty())
        throw Error("--budget chooses every rank of " + s.method + ": give it without --energy, --fraction or --ranks");
    if (f.policy != "uniform")
        throw Error("--budget with policy " + f.policy + ": a policy would move the ranks off the budget (use uniform)");
    if (s.allocator != "uniform")
        throw Error("--allocator " + s.allocator + " is not available for the feature-space method " + s.method +
                    " yet: its exact budget is shared out uniformly");
    const bool newBias = s.method == "sfsd";
    std::vector<BudgetGroup> groups;
    std::vector<std::pair<const ProjectionSpec*, int64_t>> where;   // (projection, layer) of each group
    for (const ProjectionSpec* spec : featureSpaceTargets(table, s))
        for (int64_t l = 0; l < c.layers; ++l) {
            BudgetGroup g;
            g.denseWeights = spec->in * spec->out;
            g.base = newBias && !spec->hasBias ? spec->out : 0;
            g.step = spec->in + spec->out;
            g.maxRank = std::min(spec->in, spec->out);
            groups.push_back(g);
            where.emplace_back(spec, l);
        }
    allocateUniformBudget(groups, s.budget);
    CompressionSettings out = s;
    out.featureSpace.ranks.clear();
    for (size_t i = 0; i < groups.size(); ++i) {
        std::vector<int64_t>& ranks = out.featureSpace.ranks[where[i].first->part];
        ranks.resize(static_cast<size_t>(c.layers), kDenseRank);
        ranks[static_cast<size_t>(where[i].second)] = groups[i].k;
    }
    return out;
}

bool sameFeatureSpaceRequest(const CompressionSettings& resolved, const CompressionSettings& asked)
{
    const FeatureSpaceSettings& a = resolved.featureSpace;
    const FeatureSpaceSettings& b = asked.featureSpace;
    return resolved.method == asked.method && resolved.shared == asked.shared &&
           resolved.privateParts == asked.privateParts && a.energy == b.energy && a.fraction == b.fraction &&
           a.ranksFile == b.ranksFile && a.policy == b.policy;
}

std::vector<const ProjectionSpec*> featureSpaceTargets(const ArchTable& table, const CompressionSettings& s)
{
    std::set<std::string> wanted;
    for (const auto* list : {&s.shared, &s.privateParts})
        for (const auto& n : *list) {
            const ProjectionSpec* p = table.findPart(n);
            if (!p) {
                std::string known;
                for (const auto& k : table.partNames())
                    known += (known.empty() ? "" : ", ") + k;
                throw Error("unknown part '" + n + "' (parts of this architecture: " + known + ")");
            }
            wanted.insert(p->part);
        }
    std::vector<const ProjectionSpec*> out;
    for (const ProjectionSpec& p : table.projections)
        if (wanted.empty() || wanted.count(p.part))
            out.push_back(&p);
    return out;
}

namespace {

const char* kRanksFormat = "basis-studio-ranks/1";

nlohmann::json modelShape(const ModelConfig& config, const ArchTable& table)
{
    nlohmann::json shapes = nlohmann::json::object();
    for (const ProjectionSpec& p : table.projections)
        shapes[p.part] = {{"in", p.in}, {"out", p.out}};
    return {{"architecture", config.arch}, {"layers", config.layers}, {"projections", shapes}};
}

} // namespace

nlohmann::json ranksJson(const RankTable& ranks, const ModelConfig& config, const ArchTable& table,
                         const nlohmann::json& extra)
{
    nlohmann::json r = nlohmann::json::object();
    for (const auto& [part, perLayer] : ranks) {
        nlohmann::json list = nlohmann::json::array();
        for (int64_t k : perLayer)
            list.push_back(k == kDenseRank ? nlohmann::json(nullptr) : nlohmann::json(k));
        r[part] = list;
    }
    nlohmann::json j = {{"format", kRanksFormat}, {"model", modelShape(config, table)}, {"ranks", r}};
    if (extra.is_object())
        j.update(extra);
    return j;
}

RankTable readRanksFile(const std::filesystem::path& file, const ModelConfig& config, const ArchTable& table)
{
    const nlohmann::json j = readJsonFile(file);
    const std::string where = file.string() + ": ";
    if (!j.is_object() || j.value("format", std::string()) != kRanksFormat)
        throw Error(where + "not a ranks file (\"format\": \"" + kRanksFormat + "\" expected; docs/RANKS_FILE.md)");
    const nlohmann::json want = modelShape(config, table);
    if (!j.contains("model") || j["model"] != want)
        throw Error(where + "the ranks were made for another model (" +
                    (j.contains("model") ? j["model"].dump() : std::string("no \"model\"")) + "), this one is " +
                    want.dump());
    if (!j.contains("ranks") || !j["ranks"].is_object())
        throw Error(where + "\"ranks\" must be an object of part -> list of per-layer ranks");
    RankTable out;
    for (auto it = j["ranks"].begin(); it != j["ranks"].end(); ++it) {
        const ProjectionSpec* p = table.findPart(it.key());
        if (!p || p->part != it.key())
            throw Error(where + "unknown part '" + it.key() + "'");
        if (!it->is_array() || static_cast<int64_t>(it->size()) != config.layers)
            throw Error(where + "part '" + it.key() + "' needs one rank per layer (" + std::to_string(config.layers) + ")");
        const int64_t limit = std::min(p->in, p->out);
        std::vector<int64_t> ranks;
        for (size_t l = 0; l < it->size(); ++l) {
            const nlohmann::json& v = (*it)[l];
            if (v.is_null()) {
                ranks.push_back(kDenseRank);
                continue;
            }
            if (!v.is_number_integer())
                throw Error(where + "rank of '" + it.key() + "' layer " + std::to_string(l) + " is not an integer or null");
            const int64_t k = v.get<int64_t>();
            if (k < 1 || k > limit)
                throw Error(where + "rank " + std::to_string(k) + " of '" + it.key() + "' layer " + std::to_string(l) +
                            " is outside 1..min(m, d) = " + std::to_string(limit));
            ranks.push_back(k);
        }
        out[it.key()] = ranks;
    }
    return out;
}

FeatureSpaceReport featureSpaceReport(const ModelConfig& config, const ArchTable& table, const CompressionSettings& s)
{
    const FeatureSpaceSettings& f = s.featureSpace;
    validateFeatureSpace(s.method, f);
    if (ranksNeedStatistics(f))
        throw Error(s.method + ": ranks by energy are read off the calibration statistics: calibrate first");
    const RankTable fileRanks = f.ranks.empty() && !f.ranksFile.empty() ? readRanksFile(f.ranksFile, config, table) : RankTable{};
    const RankTable& given = f.ranks.empty() ? fileRanks : f.ranks;
    FeatureSpaceReport report;
    const std::vector<const ProjectionSpec*> targets = featureSpaceTargets(table, s);
    double utilization = 0;
    for (int64_t l = 0; l < config.layers; ++l)
        for (const ProjectionSpec* p : targets) {
            ProjectionRank r;
            r.spec = p;
            r.layer = l;
            r.m = p->out;
            r.d = p->in;
            r.kappa = breakEvenRank(r.m, r.d);
            if (f.fraction && given.empty()) {
                r.chosen = fractionRank(*f.fraction, r.m, r.d);
            } else {
                auto it = given.find(p->part);
                if (it == given.end() || static_cast<int64_t>(it->second.size()) != config.layers)
                    throw Error(s.method + ": no rank for part '" + p->part + "' of layer " + std::to_string(l) +
                                (f.ranksFile.empty() ? "" : " in " + f.ranksFile.string()));
                r.chosen = it->second[static_cast<size_t>(l)];
            }
            if (r.chosen == kDenseRank) {
                r.dense = true;
                r.rank = std::min(r.m, r.d);
            } else {
                if (r.chosen < 1 || r.chosen > std::min(r.m, r.d))
                    throw Error(s.method + ": rank " + std::to_string(r.chosen) + " of '" + p->part + "' layer " +
                                std::to_string(l) + " is outside 1..min(m, d) = " + std::to_string(std::min(r.m, r.d)));
                r.utilization = static_cast<double>(r.chosen) / static_cast<double>(std::min(r.m, r.d));
                r.rank = policyRank(r.chosen, policyMultiplier(f.policy, *p));
                r.dense = !factorizationPays(r.rank, r.m, r.d);
                r.flipped = r.dense && factorizationPays(r.chosen, r.m, r.d);
            }
            report.flips += r.flipped ? 1 : 0;
            utilization += r.utilization;
            report.projections.push_back(r);
        }
    report.mlu = report.projections.empty() ? 0.0 : utilization / static_cast<double>(report.projections.size());
    return report;
}

CompressionPlan planFeatureSpace(const ModelConfig& c, const ArchTable& table, const CompressionSettings& s)
{
    if (s.update)
        throw Error(s.method + ": the coefficient update (--update) refits B C on a shared basis and is not defined for "
                               "the feature-space methods");
    const FeatureSpaceReport report = featureSpaceReport(c, table, s);
    const bool newBias = s.method == "sfsd";
    CompressionPlan plan;
    plan.settings = s;
    plan.settings.groupSize = 1;
    plan.settings.shared.clear();
    plan.settings.privateParts.clear();
    plan.modelBefore = denseParameterCounts(c, table).total;
    int64_t saved = 0;
    for (const ProjectionSpec& spec : table.projections) {
        PartPlan part;
        part.spec = &spec;
        part.shared = false;
        const int64_t dense1 = spec.in * spec.out;
        for (const ProjectionRank& r : report.projections) {
            if (r.spec != &spec)
                continue;
            part.compressed = true;
            if (r.dense) {
                part.weightsBefore += dense1;
                part.weightsAfter += dense1;
                continue;
            }
            GroupPlan g;
            g.layers = {r.layer};
            g.k = r.rank;
            g.weightsBefore = dense1;
            // sfsd's b' is a new parameter where the projection had no bias.
            g.weightsAfter = r.rank * (spec.in + spec.out) + (newBias && !spec.hasBias ? spec.out : 0);
            part.weightsBefore += g.weightsBefore;
            part.weightsAfter += g.weightsAfter;
            part.groups.push_back(std::move(g));
        }
        if (!part.compressed) {
            part.weightsBefore = part.weightsAfter = dense1 * c.layers;
        } else {
            plan.settings.privateParts.push_back(spec.part);
            plan.targetBefore += part.weightsBefore;
            plan.targetAfter += part.weightsAfter;
            saved += part.weightsBefore - part.weightsAfter;
        }
        plan.parts.push_back(std::move(part));
    }
    plan.modelAfter = plan.modelBefore - saved;
    return plan;
}

} // namespace basis
