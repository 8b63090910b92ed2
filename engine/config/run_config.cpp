#include "run_config.h"

#include "rank_budget.h"
#include "rank_strategy.h"

#include "datasets.h"

#include "atomic_file.h"
#include "compression_plan.h"
#include "error.h"
#include "method_registry.h"
#include "feature_space_plan.h"
#include "thread_limits.h"
#include "model_location.h"
#include "safetensors_shards.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <tuple>

namespace basis {

namespace fs = std::filesystem;

bool PplEvaluation::operator==(const PplEvaluation& o) const
{
    return std::tie(dataset, text, context, stride, protocol, passes, rankStrategy, rankBudget, rankEnergy,
                    promptTokens) == std::tie(o.dataset, o.text, o.context, o.stride, o.protocol, o.passes,
                                              o.rankStrategy, o.rankBudget, o.rankEnergy, o.promptTokens);
}

bool ThroughputEvaluation::operator==(const ThroughputEvaluation& o) const
{
    return std::tie(promptLen, genLen, repeats, rankStrategy, rankBudget, rankEnergy) ==
           std::tie(o.promptLen, o.genLen, o.repeats, o.rankStrategy, o.rankBudget, o.rankEnergy);
}

bool TasksEvaluation::operator==(const TasksEvaluation& o) const
{
    return std::tie(task, data, limit) == std::tie(o.task, o.data, o.limit);
}

bool SweepSpec::operator==(const SweepSpec& o) const
{
    return std::tie(methods, budgets, ratios, groupSizes, allocators, dense, results) ==
           std::tie(o.methods, o.budgets, o.ratios, o.groupSizes, o.allocators, o.dense, o.results);
}

bool RunConfig::operator==(const RunConfig& o) const
{
    // A save flag without a path saves nothing (and is written as false): compare what is saved.
    const bool saves[4] = {saveUntrainedModel && !untrainedModelPath.empty(), saveUpdatedModel && !updatedModelPath.empty(),
                           o.saveUntrainedModel && !o.untrainedModelPath.empty(), o.saveUpdatedModel && !o.updatedModelPath.empty()};
    if (saves[0] != saves[2] || saves[1] != saves[3])
        return false;
    auto published = [](const RunConfig& c) {
        return std::tie(c.modelType, c.modelName, c.projectionNames, c.groupSize, c.compressionRatio, c.contextLength,
                        c.stride, c.sharePart, c.privatePart, c.datasetName, c.buildCalib, c.calibPath, c.calibrationSize,
                        c.calibBatchSize, c.datasetCacheDir, c.update, c.buildUpdateCalib, c.updateCalibPath,
                        c.untrainedModelPath, c.updatedModelPath, c.loraRequested, c.saveLora, c.loraR, c.loraAlpha,
                        c.loraOutputDir, c.loraTrainBatchSize, c.loraLearningRate, c.loraTrainEpoch, c.loraRunName);
    };
    auto ours = [](const RunConfig& c) {
        return std::tie(c.modelPath, c.method, c.calibrationText, c.updateText, c.dataDir, c.sampling, c.seed, c.bos,
                        c.device, c.dtype, c.threads, c.weights, c.activations, c.evaluations, c.throughput, c.tasks, c.resultsPath,
                        c.quant.bits, c.quant.rank, c.quant.qStep, c.quant.iters, c.quant.factorDtype, c.energy,
                        c.fraction, c.ranks, c.policy, c.budget, c.allocator, c.finetuneTrain, c.finetuneText, c.finetuneEvalText,
                        c.finetuneEvalEvery, c.finetunePeftOut, c.finetuneSteps,
                        c.finetuneTokens, c.loraTargets, c.loraDropout, c.allocatorText, c.allocatorWindows, c.shardSize, c.statisticsDtype, c.sweep);
    };
    return published(*this) == published(o) && ours(*this) == ours(o);
}

namespace {

const char* kKnownDatasets = "wikitext (or wikitext2), ptb, c4, tinystories";

// Reads one YAML document into a RunConfig, with positions in every message.
class Reader {
public:
    Reader(std::string source, LoadedConfig& out) : m_source(std::move(source)), m_out(out) {}

    [[noreturn]] void fail(const YAML::Mark& m, const std::string& what) const { throw Error(where(m) + what); }
    void warn(const YAML::Mark& m, const std::string& what)
    {
        m_out.warnings.push_back({ConfigMessage::Level::Warning, where(m) + "warning: " + what});
    }

    template <typename T>
    void get(const YAML::Node& n, const std::string& key, T& into, const char* type)
    {
        if (n.IsNull())
            return;   // `key: null` / `key:` keeps the default, as the published configs use it
        try {
            into = n.as<T>();
        } catch (const YAML::Exception&) {
            fail(n.Mark(), "'" + key + "' must be " + type + ", found '" + scalarText(n) + "'");
        }
    }

    void strings(const YAML::Node& n, const std::string& key, std::vector<std::string>& into)
    {
        if (n.IsNull())
            return;
        if (!n.IsSequence())
            fail(n.Mark(), "'" + key + "' must be a list of strings");
        into.clear();
        for (const auto& item : n) {
            std::string s;
            get(item, key, s, "a string");
            into.push_back(s);
        }
    }

    // Calls the handler of each key of a section; keys without one are warnings.
    void section(const YAML::Node& n, const std::string& name,
                 const std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>& handlers,
                 const std::function<bool(const std::string&, const YAML::Node&)>& fallback = {})
    {
        if (n.IsNull())
            return;
        if (!n.IsMap())
            fail(n.Mark(), "section '" + name + "' must be a mapping of keys to values");
        for (const auto& kv : n) {
            const std::string key = kv.first.as<std::string>();
            auto h = handlers.find(key);
            if (h != handlers.end())
                h->second(kv.second, name + "." + key);
            else if (!fallback || !fallback(key, kv.second))
                warn(kv.first.Mark(), "unknown key '" + name + "." + key + "' (ignored)");
        }
    }

private:
    std::string where(const YAML::Mark& m) const
    {
        if (m.is_null() || m.line < 0)
            return m_source + ": ";
        return m_source + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
    }
    static std::string scalarText(const YAML::Node& n) { return n.IsScalar() ? n.Scalar() : "(a list or mapping)"; }

    std::string m_source;
    LoadedConfig& m_out;
};

void applyOverride(YAML::Node& root, const std::string& assignment)
{
    const auto eq = assignment.find('=');
    const auto dot = assignment.find('.');
    if (eq == std::string::npos || dot == std::string::npos || dot > eq)
        throw Error("--set '" + assignment + "': expected section.key=value");
    const std::string sectionName = assignment.substr(0, dot), key = assignment.substr(dot + 1, eq - dot - 1);
    YAML::Node value;
    try {
        value = YAML::Load(assignment.substr(eq + 1));
    } catch (const YAML::Exception& e) {
        throw Error("--set '" + assignment + "': " + e.msg);
    }
    YAML::Node sec = root[sectionName];
    if (!sec.IsDefined() || sec.IsNull())
        root[sectionName] = YAML::Node(YAML::NodeType::Map);
    root[sectionName][key] = value;
}

// The rank keys of an evaluation entry, checked as the CLI's flags are (the message names the YAML key).
void checkRank(Reader& r, const YAML::Node& entry, const std::string& strategy, double budget, double energy,
               int64_t promptTokens)
{
    if (strategy.empty()) {
        if (budget != 0 || energy != 0)
            r.fail(entry.Mark(), "rank_budget / rank_energy need a rank_strategy");
        return;
    }
    try {
        RankSettings s;
        s.strategy = parseRankStrategy(strategy);
        s.budget = budget;
        s.energy = energy;
        s.promptTokens = promptTokens;
        checkRankSettings(s);
    } catch (const Error& e) {
        std::string m = e.what();
        for (const auto& [flag, key] : {std::pair<std::string, std::string>{"--rank-strategy", "rank_strategy"},
                                        {"--rank-budget", "rank_budget"}, {"--rank-energy", "rank_energy"},
                                        {"--prompt-tokens", "prompt_tokens"}})
            for (size_t at = m.find(flag); at != std::string::npos; at = m.find(flag))
                m.replace(at, flag.size(), key);
        r.fail(entry.Mark(), m);
    }
}

void readPpl(Reader& r, const YAML::Node& item, RunConfig& c)
{
    PplEvaluation e;
    if (!item.IsMap())
        r.fail(item.Mark(), "each basis_studio.evaluate entry must be a mapping (ppl: {dataset: ..., ...})");
    for (const auto& kv : item) {
        const std::string kind = kv.first.as<std::string>();
        if (kind == "throughput") {
            ThroughputEvaluation t;
            r.section(kv.second, "throughput",
                      {{"prompt_len", [&](auto& n, auto& k) { r.get(n, k, t.promptLen, "an integer"); }},
                       {"gen_len", [&](auto& n, auto& k) { r.get(n, k, t.genLen, "an integer"); }},
                       {"repeats", [&](auto& n, auto& k) { r.get(n, k, t.repeats, "an integer"); }},
                       {"rank_strategy", [&](auto& n, auto& k) { r.get(n, k, t.rankStrategy, "a rank strategy"); }},
                       {"rank_budget", [&](auto& n, auto& k) { r.get(n, k, t.rankBudget, "a number in (0, 1]"); }},
                       {"rank_energy", [&](auto& n, auto& k) { r.get(n, k, t.rankEnergy, "a number in (0, 1]"); }}});
            if (t.promptLen < 1 || t.genLen < 2 || t.repeats < 1)
                r.fail(kv.second.Mark(), "throughput needs prompt_len >= 1, gen_len >= 2 and repeats >= 1");
            checkRank(r, kv.second, t.rankStrategy, t.rankBudget, t.rankEnergy, 64);
            c.throughput.push_back(t);
            continue;
        }
        if (kind == "tasks") {
            TasksEvaluation t;
            r.section(kv.second, "tasks",
                      {{"task", [&](auto& n, auto& k) { r.get(n, k, t.task, "a task name"); }},
                       {"data", [&](auto& n, auto& k) { r.get(n, k, t.data, "a JSONL file"); }},
                       {"limit", [&](auto& n, auto& k) { r.get(n, k, t.limit, "an integer"); }}});
            if (t.task.empty() || t.data.empty() || t.limit < 0)
                r.fail(kv.second.Mark(), "tasks needs 'task' and 'data' (a JSONL file), and limit >= 0");
            c.tasks.push_back(t);
            continue;
        }
        if (kind != "ppl") {
            r.warn(kv.first.Mark(), "unknown evaluation '" + kind + "' (supported: ppl, throughput, tasks); ignored");
            continue;
        }
        r.section(kv.second, "ppl",
                  {{"dataset", [&](auto& n, auto& k) { r.get(n, k, e.dataset, "a dataset name"); }},
                   {"text", [&](auto& n, auto& k) { r.get(n, k, e.text, "a file path"); }},
                   {"context", [&](auto& n, auto& k) { r.get(n, k, e.context, "an integer"); }},
                   {"stride", [&](auto& n, auto& k) { r.get(n, k, e.stride, "an integer"); }},
                   {"protocol", [&](auto& n, auto& k) { r.get(n, k, e.protocol, "window-mean or token-mean"); }},
                   {"passes", [&](auto& n, auto& k) { r.get(n, k, e.passes, "auto, whole or layerwise"); }},
                   {"rank_strategy", [&](auto& n, auto& k) { r.get(n, k, e.rankStrategy, "a rank strategy"); }},
                   {"rank_budget", [&](auto& n, auto& k) { r.get(n, k, e.rankBudget, "a number in (0, 1]"); }},
                   {"rank_energy", [&](auto& n, auto& k) { r.get(n, k, e.rankEnergy, "a number in (0, 1]"); }},
                   {"prompt_tokens", [&](auto& n, auto& k) { r.get(n, k, e.promptTokens, "an integer"); }}});
        checkRank(r, kv.second, e.rankStrategy, e.rankBudget, e.rankEnergy, e.promptTokens);
        if (e.dataset.empty() == e.text.empty())
            r.fail(kv.second.Mark(), "a ppl evaluation needs exactly one of 'dataset' and 'text'");
        if (e.protocol != "window-mean" && e.protocol != "token-mean")
            r.fail(kv.second.Mark(), "unknown protocol '" + e.protocol + "' (expected window-mean or token-mean)");
        if (e.passes != "auto" && e.passes != "whole" && e.passes != "layerwise")
            r.fail(kv.second.Mark(), "unknown passes '" + e.passes + "' (expected auto, whole or layerwise)");
        if (e.passes == "layerwise" && !e.rankStrategy.empty())
            r.fail(kv.second.Mark(), "passes: layerwise does not combine with a rank_strategy");
        c.evaluations.push_back(e);
    }
}

void validateSweep(Reader& r, const YAML::Node& root, const RunConfig& c)
{
    const SweepSpec& w = *c.sweep;
    auto at = [&](const char* key) {
        YAML::Node n = root["sweep"];
        return n.IsDefined() && n.IsMap() && n[key].IsDefined() ? n[key].Mark() : (n.IsDefined() ? n.Mark() : root.Mark());
    };
    for (const std::string& m : w.methods)
        if (!findMethod(m))
            r.fail(at("methods"), "sweep.methods: unknown method '" + m + "' (registered: " + [] {
                std::string names;
                for (const CompressionMethod* x : methods())
                    names += (names.empty() ? "" : ", ") + x->name();
                return names;
            }() + ")");
    if (w.budgets.empty() && w.ratios.empty())
        r.fail(at("budgets"), "sweep needs budgets (exact % of the target projections removed) or ratios (the published rule)");
    for (double b : w.budgets)
        if (!(b > 0 && b < 100))
            r.fail(at("budgets"), "sweep.budgets: each budget must be in (0, 100) percent, got " + std::to_string(b));
    for (double x : w.ratios)
        if (!(x > 0 && x < 100))
            r.fail(at("ratios"), "sweep.ratios: each ratio must be in (0, 100) percent, got " + std::to_string(x));
    for (int64_t g : w.groupSizes)
        if (g < 1)
            r.fail(at("group_sizes"), "sweep.group_sizes: each group size must be at least 1");
    if (w.allocators.empty())
        r.fail(at("allocators"), "sweep.allocators: give at least one (" + rankAllocatorList() + ")");
    for (const std::string& a : w.allocators)
        if (!isRankAllocator(a))
            r.fail(at("allocators"), "sweep.allocators: unknown allocator '" + a + "' (expected " + rankAllocatorList() + ")");
    if (w.results.empty())
        r.fail(at("results"), "sweep.results names the results file (results.jsonl; the CSV is written beside it)");
}

void validate(Reader& r, const YAML::Node& root, RunConfig& c)
{
    const YAML::Mark top = root.Mark();
    auto at = [&](const char* sec, const char* key) {
        YAML::Node n = root[sec];   // an absent section is an invalid node, on which IsMap() throws
        return n.IsDefined() && n.IsMap() && n[key].IsDefined() ? n[key].Mark() : top;
    };
    try {
        method(c.method);
    } catch (const Error& e) {
        r.fail(at("basis_studio", "method"), e.what());
    }
    try {
        validateQuantSettings(c.quant);
    } catch (const Error& e) {
        r.fail(at("basis_studio", "bits"), std::string("basis_studio quantization keys (bits, rank, q_step, iters, "
                                                       "factor_dtype): ") + e.what());
    }
    if (!(c.compressionRatio > 0 && c.compressionRatio < 100))
        r.fail(at("model_args", "compression_ratio"), "compression_ratio must be in (0, 100) percent of parameters removed");
    if (const CompressionMethod* fs = findMethod(c.method); fs && fs->featureSpace()) {
        FeatureSpaceSettings f;
        f.energy = c.energy;
        f.fraction = c.fraction;
        f.ranksFile = c.ranks;
        f.policy = c.policy;
        try {
            validateFeatureSpace(c.method, f);
        } catch (const Error& e) {
            const char* key = c.fraction ? "fraction" : (c.energy ? "energy" : "policy");
            r.fail(at("basis_studio", key), e.what());
        }
    } else if (c.energy || c.fraction || !c.ranks.empty()) {
        r.fail(at("basis_studio", c.energy ? "energy" : (c.fraction ? "fraction" : "ranks")),
               "energy, fraction and ranks are settings of the feature-space methods (utilized, hybrid, weight-svd, "
               "sfsd), not of " + c.method);
    }
    if (c.budget != 0 && !(c.budget > 0 && c.budget < 100))
        r.fail(at("basis_studio", "budget"), "budget must be in (0, 100) percent of the target projections' parameters "
                                             "removed (or 0 for the compression_ratio rule)");
    if (!isRankAllocator(c.allocator))
        r.fail(at("basis_studio", "allocator"), "unknown rank allocator '" + c.allocator + "' (expected " +
                                                    rankAllocatorList() + ")");
    else if (c.allocator != "uniform" && c.budget == 0)
        r.fail(at("basis_studio", "allocator"), "allocator " + c.allocator + " shares out an exact budget: set budget too");
    if (c.allocatorWindows < 1)
        r.fail(at("basis_studio", "allocator_windows"), "allocator_windows must be at least 1");
    if (c.activations != "auto" && c.activations != "memory" && c.activations != "disk")
        r.fail(at("basis_studio", "activations"), "activations '" + c.activations + "': expected auto, memory or disk");
    if (c.weights != "device" && c.weights != "host")
        r.fail(at("basis_studio", "weights"), "weights '" + c.weights + "': expected device or host");
    if (c.statisticsDtype != "float64" && c.statisticsDtype != "float32")
        r.fail(at("basis_studio", "statistics_dtype"), "statistics_dtype '" + c.statisticsDtype + "': expected float64 or float32");
    try {
        parseShardSize(c.shardSize, "shard_size");
    } catch (const Error& e) {
        r.fail(at("basis_studio", "shard_size"), e.what());
    }
    if (c.sweep)
        validateSweep(r, root, c);
    if (c.groupSize < 1)
        r.fail(at("model_args", "group_size"), "group_size must be at least 1");
    if (c.contextLength < 2)
        r.fail(at("model_args", "context_length"), "context_length must be at least 2");
    if (c.modelPath.empty()) {
        // The published configs name the model only by its Hub name: it is found in the Hugging Face cache when
        // the run loads it (model_location.h), so a config is valid on a machine that does not have the model yet.
        if (!c.modelName.empty())
            c.modelPath = c.modelName;
        else
            r.fail(top, "missing required key basis_studio.model_path (a local Hugging Face folder, builtin:stories260k "
                        "or a Hub name org/name; model_args.model_name may name it instead)");
    }
    const CompressionMethod* m = findMethod(c.method);   // an unknown one was reported above
    if (c.calibrationText.empty() && c.datasetName.empty() && (!m || m->needsStatistics()) &&
        !(c.calibPath.size() && !c.buildCalib))
        r.fail(at("calibration_args", "dataset_name"),
               "no calibration data: set basis_studio.calibration_text or calibration_args.dataset_name");
    if (!c.datasetName.empty()) {
        static const std::vector<std::string> known{"wikitext", "wikitext2", "ptb", "c4", "tinystories"};
        if (std::find(known.begin(), known.end(), c.datasetName) == known.end())
            r.fail(at("calibration_args", "dataset_name"),
                   "unknown dataset '" + c.datasetName + "' (known: " + kKnownDatasets + ")");
    }
    // Asked to save but told nowhere: an error, not a run that silently saves nothing.
    auto askedTrue = [&](const char* key) {
        const YAML::Node n = root["model_saving"];   // an absent section is an invalid node: IsDefined first
        return n.IsDefined() && n.IsMap() && n[key].IsDefined() && n[key].IsScalar() && n[key].as<bool>(false);
    };
    if (askedTrue("save_untrained_model") && c.untrainedModelPath.empty())
        r.fail(at("model_saving", "save_untrained_model"),
               "save_untrained_model is true but untrained_model_path is empty: name the folder, or set it to false");
    if (askedTrue("save_updated_model") && c.updatedModelPath.empty())
        r.fail(at("model_saving", "save_updated_model"),
               "save_updated_model is true but updated_model_path is empty: name the folder, or set it to false");
    if (c.loraRequested) {
        if (c.finetuneTrain != "lora" && c.finetuneTrain != "coefficients" && c.finetuneTrain != "bases")
            r.fail(at("basis_studio", "finetune_train"),
                   "finetune_train must be lora, coefficients or bases (found '" + c.finetuneTrain + "')");
        if (!c.finetunePeftOut.empty() && c.finetuneTrain != "lora")
            r.fail(at("basis_studio", "finetune_peft_out"),
                   "finetune_peft_out writes LoRA adapters: it needs finetune_train: lora (found '" + c.finetuneTrain + "')");
        if (c.loraR < 1)
            r.fail(at("lora_args", "lora_r"), "lora_r must be at least 1");
        if (c.loraTrainBatchSize < 1)
            r.fail(at("lora_args", "lora_train_batch_size"), "lora_train_batch_size must be at least 1");
        if (!(c.loraLearningRate >= 0) || !(c.loraAlpha > 0) || !(c.loraTrainEpoch >= 0))
            r.fail(at("lora_args", "lora_learning_rate"),
                   "lora_learning_rate and lora_train_epoch must not be negative, lora_alpha must be positive");
        const YAML::Node l = root["lora_args"];
        // As model_saving: an explicit save_lora: true without a folder is an error; absent, nothing is saved.
        const bool saveAsked = l.IsMap() && l["save_lora"].IsDefined() && l["save_lora"].IsScalar() && l["save_lora"].as<bool>(false);
        if (saveAsked && c.loraOutputDir.empty())
            r.fail(at("lora_args", "save_lora"), "save_lora is true but lora_output_dir is empty: name the folder, or set it to false");
    }
}

// yaml-cpp keeps both entries of a repeated key and a lookup silently takes one: refuse it, naming both lines.
void rejectDuplicateKeys(const Reader& r, const YAML::Node& n, const std::string& path, int depth = 0)
{
    if (depth > 64)
        r.fail(n.Mark(), "nested more than 64 levels deep");
    if (n.IsSequence()) {
        for (const auto& item : n)
            rejectDuplicateKeys(r, item, path, depth + 1);
        return;
    }
    if (!n.IsMap())
        return;
    std::map<std::string, YAML::Mark> seen;
    for (const auto& kv : n) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        const std::string full = path.empty() ? key : path + "." + key;
        const auto [it, fresh] = seen.emplace(key, kv.first.Mark());
        if (!fresh)
            r.fail(kv.first.Mark(), "duplicate key '" + full + "' (first at line " + std::to_string(it->second.line + 1) +
                                        "); a YAML mapping names each key once");
        rejectDuplicateKeys(r, kv.second, full, depth + 1);
    }
}

} // namespace

namespace {

LoadedConfig parseDocument(const std::string& yaml, const std::string& source, const std::vector<std::string>& overrides)
{
    LoadedConfig out;
    Reader r(source, out);
    YAML::Node root;
    try {
        root = YAML::Load(yaml);
    } catch (const YAML::ParserException& e) {
        r.fail(e.mark, "malformed YAML: " + e.msg);
    }
    rejectDuplicateKeys(r, root, "");
    if (root.IsNull())
        root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap())
        r.fail(root.Mark(), "expected a mapping of sections (model_args, calibration_args, ..., basis_studio)");
    for (const auto& o : overrides)
        applyOverride(root, o);

    RunConfig& c = out.config;
    auto str = [&](std::string& v, const char* t = "a string") {
        return [&r, &v, t](const YAML::Node& n, const std::string& k) { r.get(n, k, v, t); };
    };
    auto i64 = [&](int64_t& v) { return [&r, &v](const YAML::Node& n, const std::string& k) { r.get(n, k, v, "an integer"); }; };
    auto flag = [&](bool& v) { return [&r, &v](const YAML::Node& n, const std::string& k) { r.get(n, k, v, "true or false"); }; };
    auto list = [&](std::vector<std::string>& v) {
        return [&r, &v](const YAML::Node& n, const std::string& k) { r.strings(n, k, v); };
    };
    for (const auto& kv : root) {
        const std::string name = kv.first.as<std::string>();
        const YAML::Node& n = kv.second;
        if (name == "model_args") {
            r.section(n, name,
                      {{"model_type", str(c.modelType)},
                       {"model_name", str(c.modelName)},
                       {"group_size", i64(c.groupSize)},
                       {"compression_ratio", [&](auto& v, auto& k) { r.get(v, k, c.compressionRatio, "a number"); }},
                       {"context_length", i64(c.contextLength)},
                       {"stride", i64(c.stride)},
                       {"share_part", list(c.sharePart)},
                       {"private_part", list(c.privatePart)}},
                      [&](const std::string& key, const YAML::Node& v) {
                          if (key.size() < 6 || key.compare(key.size() - 5, 5, "_name") != 0)
                              return false;
                          std::string module;
                          r.get(v, "model_args." + key, module, "a module name");
                          c.projectionNames[key.substr(0, key.size() - 5)] = module;
                          return true;
                      });
        } else if (name == "calibration_args") {
            r.section(n, name,
                      {{"dataset_name", str(c.datasetName)},
                       {"build_calib", flag(c.buildCalib)},
                       {"calib_path", str(c.calibPath)},
                       {"calibration_size", i64(c.calibrationSize)},
                       {"calib_batch_size", i64(c.calibBatchSize)},
                       {"dataset_cache_dir", str(c.datasetCacheDir)}});
        } else if (name == "after_calibration_update_args") {
            r.section(n, name,
                      {{"update", flag(c.update)},
                       {"build_update_calib", flag(c.buildUpdateCalib)},
                       {"update_calib_path", str(c.updateCalibPath)}});
        } else if (name == "model_saving") {
            r.section(n, name,
                      {{"save_untrained_model", flag(c.saveUntrainedModel)},
                       {"untrained_model_path", str(c.untrainedModelPath)},
                       {"save_updated_model", flag(c.saveUpdatedModel)},
                       {"updated_model_path", str(c.updatedModelPath)}});
        } else if (name == "lora_args") {
            c.loraRequested = !n.IsNull();
            r.section(n, name,
                      {{"save_lora", flag(c.saveLora)},
                       {"lora_r", i64(c.loraR)},
                       {"lora_alpha", [&](auto& v, auto& k) { r.get(v, k, c.loraAlpha, "a number"); }},
                       {"lora_output_dir", str(c.loraOutputDir)},
                       {"lora_train_batch_size", i64(c.loraTrainBatchSize)},
                       {"lora_learning_rate", [&](auto& v, auto& k) { r.get(v, k, c.loraLearningRate, "a number"); }},
                       {"lora_train_epoch", [&](auto& v, auto& k) { r.get(v, k, c.loraTrainEpoch, "a number"); }},
                       {"lora_run_name", str(c.loraRunName)}});
        } else if (name == "basis_studio") {
            r.section(n, name,
                      {{"model_path", str(c.modelPath)},
                       {"method", str(c.method)},
                       {"budget", [&](auto& v, auto& k) { r.get(v, k, c.budget, "a number"); }},
                       {"allocator", str(c.allocator)},
                       {"allocator_text", str(c.allocatorText)},
                       {"allocator_windows", i64(c.allocatorWindows)},
                       {"shard_size", str(c.shardSize)},
                       {"statistics_dtype", str(c.statisticsDtype)},
                       {"bits", i64(c.quant.bits)},
                       {"rank", i64(c.quant.rank)},
                       {"q_step", str(c.quant.qStep)},
                       {"iters", i64(c.quant.iters)},
                       {"factor_dtype", str(c.quant.factorDtype)},
                       {"calibration_text", str(c.calibrationText)},
                       {"update_text", str(c.updateText)},
                       {"data_dir", str(c.dataDir)},
                       {"sampling", str(c.sampling)},
                       {"seed", [&](auto& v, auto& k) { r.get(v, k, c.seed, "a non-negative integer"); }},
                       {"bos", str(c.bos)},
                       {"device", str(c.device)},
                       {"dtype", str(c.dtype)},
                       {"weights", str(c.weights)},
                       {"activations", str(c.activations)},
                       {"threads", [&](auto& v, auto& k) {
                            r.get(v, k, c.threads, "an integer");
                            try {
                                checkThreads(c.threads, k);
                            } catch (const Error& e) {
                                r.fail(v.Mark(), e.what());
                            }
                        }},
                       {"results_path", str(c.resultsPath)},
                       {"energy", [&](auto& v, auto& k) { double e = 0; r.get(v, k, e, "a number"); c.energy = e; }},
                       {"fraction", [&](auto& v, auto& k) { double f = 0; r.get(v, k, f, "a number"); c.fraction = f; }},
                       {"ranks", str(c.ranks)},
                       {"policy", str(c.policy)},
                       {"finetune_train", str(c.finetuneTrain)},
                       {"finetune_text", str(c.finetuneText)},
                       {"finetune_peft_out", str(c.finetunePeftOut)},
                       {"finetune_eval_text", str(c.finetuneEvalText)},
                       {"finetune_eval_every", i64(c.finetuneEvalEvery)},
                       {"finetune_steps", i64(c.finetuneSteps)},
                       {"finetune_tokens", i64(c.finetuneTokens)},
                       {"lora_targets", [&](auto& v, auto& k) { r.strings(v, k, c.loraTargets); }},
                       {"lora_dropout", [&](auto& v, auto& k) { r.get(v, k, c.loraDropout, "a number"); }},
                       {"evaluate", [&](const YAML::Node& v, const std::string&) {
                            if (v.IsNull())
                                return;
                            if (!v.IsSequence())
                                r.fail(v.Mark(), "basis_studio.evaluate must be a list");
                            c.evaluations.clear();
                            c.throughput.clear();
                            c.tasks.clear();
                            for (const auto& item : v)
                                readPpl(r, item, c);
                        }}});
        } else if (name == "sweep") {
            SweepSpec w;
            auto numbers = [&](auto& into) {
                return [&r, &into](const YAML::Node& v, const std::string& k) {
                    if (v.IsNull())
                        return;
                    if (!v.IsSequence())
                        r.fail(v.Mark(), "'" + k + "' must be a list of numbers");
                    into.clear();
                    for (const auto& item : v) {
                        typename std::decay_t<decltype(into)>::value_type x{};
                        r.get(item, k, x, "a number");
                        into.push_back(x);
                    }
                };
            };
            r.section(n, name,
                      {{"methods", list(w.methods)},
                       {"budgets", numbers(w.budgets)},
                       {"ratios", numbers(w.ratios)},
                       {"group_sizes", numbers(w.groupSizes)},
                       {"allocators", list(w.allocators)},
                       {"dense", flag(w.dense)},
                       {"results", str(w.results)}});
            c.sweep = w;
        } else {
            r.warn(kv.first.Mark(), "unknown section '" + name + "' (ignored)");
        }
    }
    validate(r, root, c);
    return out;
}

} // namespace

LoadedConfig parseRunConfig(const std::string& yaml, const std::string& source, const std::vector<std::string>& overrides)
{
    try {
        return parseDocument(yaml, source, overrides);
    } catch (const YAML::Exception& e) {
        // Whatever yaml-cpp throws that the reader did not turn into a message of its own (found by fuzzing).
        const std::string where = e.mark.is_null() ? source : source + ":" + std::to_string(e.mark.line + 1);
        throw Error(where + ": " + e.msg);
    }
}

LoadedConfig loadRunConfig(const fs::path& file, const std::vector<std::string>& overrides)
{
    LoadedConfig loaded = parseRunConfig(readFile(file), file.string(), overrides);
    resolvePaths(loaded.config, file.parent_path());
    return loaded;
}

void resolvePaths(RunConfig& c, const fs::path& base)
{
    auto fix = [&](std::string& p) {
        if (!p.empty() && fs::path(p).is_relative())
            p = (fs::absolute(base.empty() ? fs::path(".") : base) / p).lexically_normal().string();   // "run.yaml" has no parent
    };
    // A model is a folder relative to the config, unless it is builtin:NAME or a Hub name with no such folder.
    std::error_code ec;
    if (!isBuiltinSpec(c.modelPath) &&
        !(isHubName(c.modelPath) && !fs::is_directory(fs::absolute(base.empty() ? fs::path(".") : base) / c.modelPath, ec)))
        fix(c.modelPath);
    for (std::string* p : {&c.calibrationText, &c.updateText, &c.dataDir, &c.calibPath, &c.updateCalibPath, &c.ranks,
                           &c.untrainedModelPath, &c.updatedModelPath, &c.resultsPath, &c.loraOutputDir, &c.finetuneText,
                           &c.finetunePeftOut, &c.finetuneEvalText})
        fix(*p);
    for (auto& e : c.evaluations)
        fix(e.text);
    for (auto& t : c.tasks)
        fix(t.data);
    fix(c.allocatorText);
    if (c.sweep)
        fix(c.sweep->results);
}

std::string writeRunConfig(const RunConfig& c, const std::string& comment)
{
    YAML::Emitter y;
    y.SetDoublePrecision(17);
    auto kv = [&](const char* k, const auto& v) { y << YAML::Key << k << YAML::Value << v; };
    auto list = [&](const char* k, const std::vector<std::string>& v) {
        y << YAML::Key << k << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& s : v)
            y << s;
        y << YAML::EndSeq;
    };
    if (!comment.empty())
        y << YAML::Comment(comment) << YAML::Newline;
    y << YAML::BeginMap;
    y << YAML::Key << "model_args" << YAML::Value << YAML::BeginMap;
    kv("model_type", c.modelType);
    kv("model_name", c.modelName);
    for (const auto& [label, module] : c.projectionNames)
        kv((label + "_name").c_str(), module);
    kv("group_size", c.groupSize);
    kv("compression_ratio", c.compressionRatio);
    kv("context_length", c.contextLength);
    kv("stride", c.stride);
    list("share_part", c.sharePart);
    list("private_part", c.privatePart);
    y << YAML::EndMap;
    y << YAML::Key << "calibration_args" << YAML::Value << YAML::BeginMap;
    kv("dataset_name", c.datasetName);
    kv("build_calib", c.buildCalib);
    kv("calib_path", c.calibPath);
    kv("calibration_size", c.calibrationSize);
    kv("calib_batch_size", c.calibBatchSize);
    kv("dataset_cache_dir", c.datasetCacheDir);
    y << YAML::EndMap;
    y << YAML::Key << "after_calibration_update_args" << YAML::Value << YAML::BeginMap;
    kv("update", c.update);
    kv("build_update_calib", c.buildUpdateCalib);
    kv("update_calib_path", c.updateCalibPath);
    y << YAML::EndMap;
    y << YAML::Key << "model_saving" << YAML::Value << YAML::BeginMap;
    kv("save_untrained_model", c.saveUntrainedModel && !c.untrainedModelPath.empty());
    kv("untrained_model_path", c.untrainedModelPath);
    kv("save_updated_model", c.saveUpdatedModel && !c.updatedModelPath.empty());
    kv("updated_model_path", c.updatedModelPath);
    y << YAML::EndMap;
    if (c.loraRequested) {
        y << YAML::Key << "lora_args" << YAML::Value << YAML::BeginMap;
        kv("save_lora", c.saveLora);
        kv("lora_r", c.loraR);
        kv("lora_alpha", c.loraAlpha);
        kv("lora_output_dir", c.loraOutputDir);
        kv("lora_train_batch_size", c.loraTrainBatchSize);
        kv("lora_learning_rate", c.loraLearningRate);
        kv("lora_train_epoch", c.loraTrainEpoch);
        kv("lora_run_name", c.loraRunName);
        y << YAML::EndMap;
    }
    y << YAML::Key << "basis_studio" << YAML::Value << YAML::BeginMap;
    kv("model_path", c.modelPath);
    kv("method", c.method);
    if (c.budget != 0)
        kv("budget", c.budget);
    if (c.allocator != "uniform")
        kv("allocator", c.allocator);
    if (!c.allocatorText.empty())
        kv("allocator_text", c.allocatorText);
    if (c.allocatorWindows != 8)
        kv("allocator_windows", c.allocatorWindows);
    if (c.shardSize != "5GB")
        kv("shard_size", c.shardSize);
    if (c.statisticsDtype != "float64")
        kv("statistics_dtype", c.statisticsDtype);
    if (c.weights != "device")
        kv("weights", c.weights);
    if (c.activations != "auto")
        kv("activations", c.activations);
    kv("bits", c.quant.bits);
    kv("rank", c.quant.rank);
    kv("q_step", c.quant.qStep);
    kv("iters", c.quant.iters);
    kv("factor_dtype", c.quant.factorDtype);
    kv("calibration_text", c.calibrationText);
    kv("update_text", c.updateText);
    kv("data_dir", c.dataDir);
    kv("sampling", c.sampling);
    kv("seed", c.seed);
    kv("bos", c.bos);
    kv("device", c.device);
    kv("dtype", c.dtype);
    kv("threads", c.threads);
    kv("results_path", c.resultsPath);
    if (c.energy)
        kv("energy", *c.energy);
    if (c.fraction)
        kv("fraction", *c.fraction);
    if (!c.ranks.empty())
        kv("ranks", c.ranks);
    kv("policy", c.policy);
    kv("finetune_train", c.finetuneTrain);
    kv("finetune_text", c.finetuneText);
    if (!c.finetunePeftOut.empty())
        kv("finetune_peft_out", c.finetunePeftOut);
    if (!c.finetuneEvalText.empty())
        kv("finetune_eval_text", c.finetuneEvalText);
    if (c.finetuneEvalEvery > 0)
        kv("finetune_eval_every", c.finetuneEvalEvery);
    kv("finetune_steps", c.finetuneSteps);
    kv("finetune_tokens", c.finetuneTokens);
    list("lora_targets", c.loraTargets);
    kv("lora_dropout", c.loraDropout);
    y << YAML::Key << "evaluate" << YAML::Value << YAML::BeginSeq;
    for (const auto& e : c.evaluations) {
        y << YAML::BeginMap << YAML::Key << "ppl" << YAML::Value << YAML::Flow << YAML::BeginMap;
        if (!e.dataset.empty())
            kv("dataset", e.dataset);
        if (!e.text.empty())
            kv("text", e.text);
        kv("context", e.context);
        kv("stride", e.stride);
        kv("protocol", e.protocol);
        if (e.passes != "auto")
            kv("passes", e.passes);
        if (!e.rankStrategy.empty()) {
            kv("rank_strategy", e.rankStrategy);
            if (e.rankBudget > 0)
                kv("rank_budget", e.rankBudget);
            if (e.rankEnergy > 0)
                kv("rank_energy", e.rankEnergy);
            kv("prompt_tokens", e.promptTokens);
        }
        y << YAML::EndMap << YAML::EndMap;
    }
    for (const auto& t : c.throughput) {
        y << YAML::BeginMap << YAML::Key << "throughput" << YAML::Value << YAML::Flow << YAML::BeginMap;
        kv("prompt_len", t.promptLen);
        kv("gen_len", t.genLen);
        kv("repeats", t.repeats);
        if (!t.rankStrategy.empty()) {
            kv("rank_strategy", t.rankStrategy);
            if (t.rankBudget > 0)
                kv("rank_budget", t.rankBudget);
            if (t.rankEnergy > 0)
                kv("rank_energy", t.rankEnergy);
        }
        y << YAML::EndMap << YAML::EndMap;
    }
    for (const auto& t : c.tasks) {
        y << YAML::BeginMap << YAML::Key << "tasks" << YAML::Value << YAML::Flow << YAML::BeginMap;
        kv("task", t.task);
        kv("data", t.data);
        kv("limit", t.limit);
        y << YAML::EndMap << YAML::EndMap;
    }
    y << YAML::EndSeq << YAML::EndMap;
    if (c.sweep) {
        const SweepSpec& w = *c.sweep;
        auto numbers = [&](const char* k, const auto& v) {
            y << YAML::Key << k << YAML::Value << YAML::Flow << YAML::BeginSeq;
            for (const auto& x : v)
                y << x;
            y << YAML::EndSeq;
        };
        y << YAML::Key << "sweep" << YAML::Value << YAML::BeginMap;
        list("methods", w.methods);
        numbers("budgets", w.budgets);
        numbers("ratios", w.ratios);
        numbers("group_sizes", w.groupSizes);
        list("allocators", w.allocators);
        kv("dense", w.dense);
        kv("results", w.results);
        y << YAML::EndMap;
    }
    y << YAML::EndMap;
    return std::string(y.c_str()) + "\n";
}

fs::path datasetFile(const std::string& name, const std::string& split, const fs::path& dataDir)
{
    const fs::path file = datasetPath(name, split, presetDataDir(name, split, dataDir));   // throws for an unknown name
    if (!fs::exists(file))
        throw Error("dataset '" + name + "' (" + split + "): " + file.string() +
                    " not found; put the file there or give a text file instead");
    return file;
}

} // namespace basis
