// YAML run configs: every file in configs/ round-trips, errors carry line and column, and the pipeline gives the
// same numbers as the separate engine steps and as its own written config.
#include "hub_cache.h"
#include "test_support.h"

#include "atomic_file.h"
#include "calibration_job.h"
#include "channel_order.h"
#include "compress.h"
#include "config_jobs.h"
#include "decoder_model.h"
#include "error.h"
#include "model_location.h"
#include "multiple_choice.h"
#include "perplexity.h"
#include "pipeline.h"
#include "run_config.h"
#include "tokenizer.h"

#include <gtest/gtest.h>
#include <cmath>
#include <nlohmann/json.hpp>

namespace {

using basis::test::expectError;

namespace fs = std::filesystem;

const std::string kMinimal = R"(model_args:
  group_size: 2
  compression_ratio: 30
basis_studio:
  model_path: /tmp
  calibration_text: /tmp/calib.txt
)";

TEST(RunConfig, EveryShippedConfigRoundTrips)
{
    int files = 0;
    for (const auto& entry : fs::directory_iterator(fs::path(BASIS_SOURCE_DIR) / "configs")) {
        if (entry.path().extension() != ".yaml")
            continue;
        ++files;
        const auto first = basis::loadRunConfig(entry.path());
        EXPECT_TRUE(first.warnings.empty()) << entry.path() << ": " << first.warnings.front().text;
        const std::string written = basis::writeRunConfig(first.config);
        const auto second = basis::parseRunConfig(written, "written");
        EXPECT_TRUE(first.config == second.config) << entry.path() << "\n" << written;
        EXPECT_EQ(basis::writeRunConfig(second.config), written);
    }
    EXPECT_GE(files, 8);
}

TEST(RunConfig, PublishedLayoutMapsPartLabelsAndDefaults)
{
    const auto c = basis::parseRunConfig(R"(model_args:
  model_type: llama2
  model_name: meta-llama/Llama-2-7b-hf
  k_name: self_attn.k_proj
  group_size: 2
  compression_ratio: 20
  share_part: ["k", "q"]
  private_part: ["o"]
calibration_args:
  dataset_name: wikitext
  build_calib: true
  calib_path: null
  calibration_size: 256
  calib_batch_size: 16
  dataset_cache_dir: null
after_calibration_update_args: {update_calib_path: null, build_update_calib: false, update: false}
model_saving: {save_untrained_model: false, untrained_model_path: null, save_updated_model: false, updated_model_path: null}
basis_studio: {model_path: /tmp}
)", "published.yaml").config;
    EXPECT_EQ(c.projectionNames.at("k"), "self_attn.k_proj");
    EXPECT_EQ(c.sharePart, (std::vector<std::string>{"k", "q"}));
    EXPECT_EQ(c.calibrationSize, 256);
    EXPECT_EQ(c.method, "basis-sharing");
    EXPECT_EQ(c.contextLength, 512);
}

TEST(RunConfig, UnknownKeysWarnWithLine)
{
    const auto loaded = basis::parseRunConfig(kMinimal + "  colour: blue\nlora_args:\n  r: 8\n", "x.yaml");
    ASSERT_EQ(loaded.warnings.size(), 2u);
    EXPECT_NE(loaded.warnings[0].text.find("x.yaml:7:"), std::string::npos) << loaded.warnings[0].text;
    EXPECT_NE(loaded.warnings[0].text.find("basis_studio.colour"), std::string::npos);
    EXPECT_NE(loaded.warnings[1].text.find("unknown key 'lora_args.r'"), std::string::npos) << loaded.warnings[1].text;
}

TEST(RunConfig, SetOverridesKeys)
{
    const auto c = basis::parseRunConfig(kMinimal, "x.yaml", {"model_args.compression_ratio=45", "basis_studio.seed=7"}).config;
    EXPECT_EQ(c.compressionRatio, 45);
    EXPECT_EQ(c.seed, 7u);
    expectError([] { basis::parseRunConfig(kMinimal, "x.yaml", {"ratio=3"}); }, {"section.key=value"});
}

// The sweep: section and the loss allocator's keys are read, written back and checked with their line.
TEST(RunConfig, SweepSectionRoundTripsAndIsChecked)
{
    const std::string yaml = kMinimal + "  allocator_text: /tmp/search.txt\n  allocator_windows: 4\n"
                             "sweep:\n  methods: [basis-sharing, svd-llm]\n  budgets: [20, 30]\n  ratios: [40]\n"
                             "  group_sizes: [1, 2, 3]\n  allocators: [uniform, greedy, loss]\n  dense: false\n"
                             "  results: /tmp/results.jsonl\n";
    const auto c = basis::parseRunConfig(yaml, "s.yaml").config;
    ASSERT_TRUE(c.sweep.has_value());
    EXPECT_EQ(c.sweep->methods, (std::vector<std::string>{"basis-sharing", "svd-llm"}));
    EXPECT_EQ(c.sweep->budgets, (std::vector<double>{20, 30}));
    EXPECT_EQ(c.sweep->ratios, (std::vector<double>{40}));
    EXPECT_EQ(c.sweep->groupSizes, (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(c.sweep->allocators, (std::vector<std::string>{"uniform", "greedy", "loss"}));
    EXPECT_FALSE(c.sweep->dense);
    EXPECT_EQ(c.allocatorText, "/tmp/search.txt");
    EXPECT_EQ(c.allocatorWindows, 4);
    const std::string written = basis::writeRunConfig(c);
    EXPECT_TRUE(basis::parseRunConfig(written, "written").config == c) << written;

    auto with = [&](const std::string& from, const std::string& to) {
        std::string y = yaml;
        y.replace(y.find(from), from.size(), to);
        return y;
    };
    expectError([&] { basis::parseRunConfig(with("[20, 30]", "[20, 130]"), "s.yaml"); }, {"s.yaml:11:", "sweep.budgets"});
    expectError([&] { basis::parseRunConfig(with("svd-llm]", "lora]"), "s.yaml"); },
                {"s.yaml:10:", "unknown method 'lora'"});
    expectError([&] { basis::parseRunConfig(with("greedy, loss", "best"), "s.yaml"); }, {"s.yaml:14:", "unknown allocator 'best'"});
    expectError([&] { basis::parseRunConfig(with("[1, 2, 3]", "[0]"), "s.yaml"); }, {"s.yaml:13:", "group size"});
    expectError([&] { basis::parseRunConfig(with("  results: /tmp/results.jsonl\n", ""), "s.yaml"); },
                {"s.yaml:10:", "sweep.results"});
    expectError([&] { basis::parseRunConfig(with("allocator_windows: 4", "allocator_windows: 0"), "s.yaml"); },
                {"s.yaml:8:", "allocator_windows"});
    expectError([&] { basis::parseRunConfig(kMinimal + "  allocator: loss\n", "s.yaml"); }, {"s.yaml:7:", "set budget too"});
}

// basis_studio.shard_size: read, carried into the compression's options, written back only when not the default,
// refused with its line when it is not a size.
TEST(RunConfig, ShardSizeIsReadCarriedAndChecked)
{
    const auto c = basis::parseRunConfig(kMinimal + "  shard_size: 50KB\n", "s.yaml").config;
    EXPECT_EQ(c.shardSize, "50KB");
    EXPECT_EQ(basis::compressOptionsFrom(c).shardBytes, 50'000u);
    const std::string written = basis::writeRunConfig(c);
    EXPECT_NE(written.find("shard_size: 50KB"), std::string::npos) << written;
    EXPECT_TRUE(basis::parseRunConfig(written, "written").config == c);
    const auto d = basis::parseRunConfig(kMinimal, "s.yaml").config;
    EXPECT_EQ(basis::compressOptionsFrom(d).shardBytes, basis::kDefaultShardBytes);
    EXPECT_EQ(basis::writeRunConfig(d).find("shard_size"), std::string::npos);
    expectError([&] { basis::parseRunConfig(kMinimal + "  shard_size: 5XB\n", "s.yaml"); }, {"s.yaml:7:", "shard_size", "5XB"});
}

// ppl: passes: read, carried into the job's options, written back when not auto, refused with its line when
// unknown or combined with a dynamic rank strategy.
TEST(RunConfig, PerplexityPassesAreReadCarriedAndChecked)
{
    const auto c = basis::parseRunConfig(kMinimal + "  evaluate:\n    - ppl: {dataset: tinystories, passes: layerwise}\n",
                                         "s.yaml").config;
    ASSERT_EQ(c.evaluations.size(), 1u);
    EXPECT_EQ(basis::perplexityOptionsFrom(c, c.evaluations[0]).passes, "layerwise");
    const std::string written = basis::writeRunConfig(c);
    EXPECT_NE(written.find("passes: layerwise"), std::string::npos) << written;
    EXPECT_TRUE(basis::parseRunConfig(written, "written").config == c);
    const auto d = basis::parseRunConfig(kMinimal + "  evaluate:\n    - ppl: {dataset: tinystories}\n", "s.yaml").config;
    EXPECT_EQ(basis::perplexityOptionsFrom(d, d.evaluations[0]).passes, "auto");
    EXPECT_EQ(basis::writeRunConfig(d).find("passes"), std::string::npos);
    expectError([&] { basis::parseRunConfig(kMinimal + "  evaluate:\n    - ppl: {dataset: tinystories, passes: all}\n", "s.yaml"); },
                {"s.yaml:8:", "passes", "all"});
    expectError([&] {
        basis::parseRunConfig(kMinimal + "  evaluate:\n    - ppl: {dataset: tinystories, passes: layerwise, "
                                         "rank_strategy: baseline}\n", "s.yaml");
    }, {"s.yaml:8:", "layerwise", "rank_strategy"});
}

// basis_studio.statistics_dtype: read, carried into the calibration's options (and the update's), written back
// when not float64, refused with its line otherwise.
TEST(RunConfig, StatisticsDtypeIsReadCarriedAndChecked)
{
    const auto c = basis::parseRunConfig(kMinimal + "  statistics_dtype: float32\n", "s.yaml").config;
    EXPECT_EQ(basis::calibrateOptionsFrom(c).statisticsDtype, "float32");
    EXPECT_EQ(basis::compressOptionsFrom(c).updateCalibration->statisticsDtype, "float32");
    EXPECT_TRUE(basis::parseRunConfig(basis::writeRunConfig(c), "written").config == c);
    const auto d = basis::parseRunConfig(kMinimal, "s.yaml").config;
    EXPECT_EQ(basis::calibrateOptionsFrom(d).statisticsDtype, "float64");
    EXPECT_EQ(basis::writeRunConfig(d).find("statistics_dtype"), std::string::npos);
    expectError([&] { basis::parseRunConfig(kMinimal + "  statistics_dtype: float16\n", "s.yaml"); },
                {"s.yaml:7:", "statistics_dtype", "float16"});
}

// basis_studio.weights: read, carried into the run's setup, written back when not device, refused with its line
// otherwise.
TEST(RunConfig, WeightsPlacementIsReadCarriedAndChecked)
{
    const auto c = basis::parseRunConfig(kMinimal + "  weights: host\n", "s.yaml").config;
    EXPECT_EQ(basis::runSetupFrom(c).weights, "host");
    EXPECT_TRUE(basis::parseRunConfig(basis::writeRunConfig(c), "written").config == c);
    const auto d = basis::parseRunConfig(kMinimal, "s.yaml").config;
    EXPECT_EQ(basis::runSetupFrom(d).weights, "device");
    EXPECT_EQ(basis::writeRunConfig(d).find("weights:"), std::string::npos);
    EXPECT_FALSE(c == d);
    expectError([&] { basis::parseRunConfig(kMinimal + "  weights: disk\n", "s.yaml"); }, {"s.yaml:7:", "weights", "disk"});
}

// basis_studio.activations: the same, into the calibration's options and the update's.
TEST(RunConfig, ActivationsPlaceIsReadCarriedAndChecked)
{
    const auto c = basis::parseRunConfig(kMinimal + "  activations: disk\n", "s.yaml").config;
    EXPECT_EQ(basis::calibrateOptionsFrom(c).activations, "disk");
    EXPECT_EQ(basis::compressOptionsFrom(c).updateCalibration->activations, "disk");
    EXPECT_TRUE(basis::parseRunConfig(basis::writeRunConfig(c), "written").config == c);
    const auto d = basis::parseRunConfig(kMinimal, "s.yaml").config;
    EXPECT_EQ(basis::calibrateOptionsFrom(d).activations, "auto");
    EXPECT_EQ(basis::writeRunConfig(d).find("activations:"), std::string::npos);
    expectError([&] { basis::parseRunConfig(kMinimal + "  activations: swap\n", "s.yaml"); },
                {"s.yaml:7:", "activations", "swap"});
}

// The dynamic-rank keys of ppl: and throughput: entries: written as read (every strategy, rho or tau, prompt_tokens),
// carried into the jobs' RankJobOptions, and refused with the YAML key's name when the combination is invalid.
TEST(RunConfig, RankKeysRoundTrip)
{
    const std::string yaml = kMinimal + R"(  evaluate:
    - ppl: {dataset: tinystories, context: 256}
    - ppl: {dataset: tinystories, rank_strategy: baseline, prompt_tokens: 32}
    - ppl: {dataset: tinystories, rank_strategy: global-static, rank_budget: 0.75}
    - ppl: {dataset: tinystories, rank_strategy: prompt-adaptive, rank_budget: 0.5, prompt_tokens: 96}
    - ppl: {dataset: tinystories, rank_strategy: prompt-adaptive, rank_energy: 0.9}
    - ppl: {dataset: tinystories, rank_strategy: per-token, rank_energy: 0.99}
    - throughput: {prompt_len: 64, gen_len: 32}
    - throughput: {rank_strategy: global-static, rank_budget: 0.5}
    - throughput: {rank_strategy: prompt-adaptive, rank_budget: 0.5}
    - throughput: {rank_strategy: per-token, rank_energy: 0.95}
)";
    const basis::RunConfig c = basis::parseRunConfig(yaml, "rank.yaml").config;
    ASSERT_EQ(c.evaluations.size(), 6u);
    ASSERT_EQ(c.throughput.size(), 4u);
    EXPECT_EQ(c.evaluations[0].rankStrategy, "");
    EXPECT_EQ(c.evaluations[1].promptTokens, 32);
    EXPECT_EQ(c.evaluations[3].rankBudget, 0.5);
    EXPECT_EQ(c.evaluations[3].promptTokens, 96);
    EXPECT_EQ(c.evaluations[5].rankEnergy, 0.99);
    EXPECT_EQ(c.throughput[3].rankStrategy, "per-token");

    const std::string written = basis::writeRunConfig(c);
    for (const char* key : {"rank_strategy: global-static", "rank_strategy: per-token", "prompt_tokens: 96"})
        EXPECT_NE(written.find(key), std::string::npos) << key << " missing from\n" << written;
    const basis::RunConfig again = basis::parseRunConfig(written, "written").config;
    EXPECT_EQ(again, c);
    EXPECT_EQ(again.evaluations, c.evaluations);
    EXPECT_EQ(again.throughput, c.throughput);
    EXPECT_EQ(basis::writeRunConfig(again), written);

    // What the jobs receive: the same RankJobOptions the CLI flags and the studio's controls fill.
    for (const basis::PplEvaluation& e : again.evaluations) {
        const basis::RankJobOptions r = basis::perplexityOptionsFrom(again, e).rank;
        EXPECT_EQ(r.strategy, e.rankStrategy);
        EXPECT_EQ(r.budget, e.rankBudget);
        EXPECT_EQ(r.energy, e.rankEnergy);
        EXPECT_EQ(r.promptTokens, e.promptTokens);
    }
    for (const basis::ThroughputEvaluation& t : again.throughput) {
        const basis::RankJobOptions r = basis::throughputOptionsFrom(t).rank;
        EXPECT_EQ(r.strategy, t.rankStrategy);
        EXPECT_EQ(r.budget, t.rankBudget);
        EXPECT_EQ(r.energy, t.rankEnergy);
    }

    // Invalid combinations name the YAML keys, with the entry's line.
    const auto entry = [](const std::string& body) { return kMinimal + "  evaluate:\n    - " + body + "\n"; };
    expectError([&] { basis::parseRunConfig(entry("ppl: {dataset: tinystories, rank_strategy: global-static, rank_energy: 0.9}"), "x.yaml"); },
                {"x.yaml:8", "rank_strategy global-static", "rank_energy"});
    expectError([&] { basis::parseRunConfig(entry("ppl: {dataset: tinystories, rank_budget: 0.5}"), "x.yaml"); },
                {"rank_budget / rank_energy need a rank_strategy"});
    expectError([&] { basis::parseRunConfig(entry("throughput: {rank_strategy: per-token}"), "x.yaml"); },
                {"rank_strategy per-token needs rank_budget RHO or rank_energy TAU"});
    expectError([&] { basis::parseRunConfig(entry("ppl: {dataset: tinystories, rank_strategy: sideways, rank_budget: 0.5}"), "x.yaml"); },
                {"unknown strategy 'sideways'"});
}

TEST(RunConfigErrors, MalformedYaml)
{
    expectError([] { basis::parseRunConfig("model_args:\n  group_size: [1, 2\n", "bad.yaml"); }, {"bad.yaml:", "malformed YAML"});
}

TEST(RunConfigErrors, StringWhereANumberBelongs)
{
    std::string yaml = kMinimal;
    yaml.replace(yaml.find("30"), 2, "thirty");
    expectError([&] { basis::parseRunConfig(yaml, "x.yaml"); }, {"x.yaml:3:22:", "compression_ratio", "a number", "thirty"});
}

TEST(RunConfigErrors, MissingModelPath)
{
    expectError([] { basis::parseRunConfig("model_args:\n  group_size: 2\nbasis_studio:\n  calibration_text: a.txt\n", "x.yaml"); },
                {"x.yaml:1:1:", "basis_studio.model_path"});
}

TEST(RunConfigErrors, UnknownMethod)
{
    expectError([] { basis::parseRunConfig(kMinimal + "  method: lora\n", "x.yaml"); }, {"x.yaml:7:", "unknown method 'lora'"});
}

TEST(RunConfigErrors, UnknownDatasetName)
{
    expectError([] { basis::parseRunConfig(kMinimal + "calibration_args:\n  dataset_name: imagenet\n", "x.yaml"); },
                {"x.yaml:8:", "unknown dataset 'imagenet'"});
    expectError([] { basis::datasetFile("ptb", "calibration", "/nonexistent"); }, {"ptb", "/nonexistent/ptb/ptb.train.txt", "not found"});
}

// The pipeline equals the separate steps (calibrate, compress, evaluate) and its own written config.
TEST(Pipeline, SameNumbersAsStepsAndAsWrittenConfig)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const fs::path work = basis::test::scratchDir("pipeline");
    const std::string evalText = (work / "eval.txt").string();
    basis::writeFileAtomically(evalText, basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")).substr(0, 40000));
    basis::RunConfig c = basis::parseRunConfig(kMinimal, "x.yaml").config;
    c.modelPath = basis::test::sharedPath("models/stories260K/hf").string();
    c.calibrationText = basis::test::sharedPath("data/tinystories-valid/calib.txt").string();
    c.contextLength = 128;
    c.stride = 128;
    c.calibrationSize = 30;
    c.calibBatchSize = 3;
    c.untrainedModelPath = (work / "model").string();
    basis::PplEvaluation evaluation;
    evaluation.text = evalText;
    evaluation.protocol = "token-mean";
    c.evaluations = {evaluation};
    basis::ThroughputEvaluation throughput;
    throughput.promptLen = 16;
    throughput.genLen = 4;
    throughput.repeats = 1;
    c.throughput = {throughput};
    // HellaSwag is not embedded: without ../shared the task part is left out and the rest still runs.
    const std::string hellaswag = basis::test::sharedPath("data/hellaswag/hellaswag_val_2000.jsonl").string();
    const bool withTasks = fs::exists(hellaswag);
    if (withTasks)
        c.tasks = {{"hellaswag", hellaswag, 12}};
    const auto out = basis::runPipeline(c);
    const auto& rates = out.at("results").at("throughput_p16_g4");
    EXPECT_GT(rates.at("prefill_tokens_per_second,none").get<double>(), 0);
    EXPECT_GT(rates.at("decode_tokens_per_second,none").get<double>(), 0);
    const double ppl = out.at("results").at("ppl_eval_128").at("ppl,none").get<double>();
    EXPECT_TRUE(fs::exists(work / "model" / "results.json"));

    auto model = basis::DecoderModel::load(c.modelPath);
    auto tok = basis::loadTokenizer(c.modelPath);
    basis::CalibrationRequest r;
    r.text = c.calibrationText;
    r.options.context = 128;
    r.options.samples = 30;
    r.options.batch = 3;
    auto stats = basis::calibrateFromText(*model, *tok, r).stats;
    basis::CompressionSettings s;
    s.ratio = 30;
    s.groupSize = 2;
    auto compressed = basis::compressModel(*model, &stats, basis::planCompression(model->config(), model->table(), s));
    basis::orderChannelsByImportance(*model, &stats, compressed);   // as the Workspace stores a compression
    basis::PplOptions o;
    o.context = 128;
    o.protocol = basis::PplProtocol::TokenMean;
    const auto ids = basis::tokenizeForEvaluation(*tok, basis::readFile(evalText), basis::BosPolicy::Auto);
    EXPECT_DOUBLE_EQ(basis::evaluatePerplexity(*model, ids, o).ppl, ppl);
    if (withTasks) {
        const auto mc = basis::evaluateMultipleChoice(*model, *tok, basis::readMcTaskFile("hellaswag", hellaswag, 12), {});
        const auto& task = out.at("results").at("hellaswag");
        EXPECT_DOUBLE_EQ(task.at("acc,none").get<double>(), mc.acc);
        EXPECT_DOUBLE_EQ(task.at("acc_norm,none").get<double>(), mc.accNorm);
        EXPECT_EQ(task.at("samples").get<int64_t>(), 12);
    }

    const fs::path written = work / "written.yaml";
    basis::writeFileAtomically(written, basis::writeRunConfig(c));
    auto again = basis::loadRunConfig(written).config;
    again.untrainedModelPath = (work / "model2").string();
    again.shardSize = "50KB";   // basis_studio.shard_size reaches the streamed save: shards, the same numbers
    EXPECT_DOUBLE_EQ(basis::runPipeline(again).at("results").at("ppl_eval_128").at("ppl,none").get<double>(), ppl);
    EXPECT_FALSE(fs::exists(work / "model" / "model.safetensors.index.json"));
    EXPECT_TRUE(fs::exists(work / "model2" / "model.safetensors.index.json"));
    EXPECT_FALSE(fs::exists(work / "model2" / "model.safetensors"));
}

// A preset calibrates on its recipe's text: for c4 the documents' `text` fields joined, not the JSONL lines.
TEST(Pipeline, CalibrationOnAPresetReadsItsRecipe)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf/config.json");
    const fs::path work = basis::test::scratchDir("calib-preset");
    const std::string story = basis::readFile(basis::test::sharedPath("data/tinystories-valid/calib.txt")).substr(0, 6000);
    nlohmann::json a = {{"text", story.substr(0, 3000)}}, b = {{"text", story.substr(3000)}};
    fs::create_directories(work / "c4");
    basis::writeFileAtomically(work / "c4" / "c4-train.jsonl", a.dump() + "\n" + b.dump() + "\n");
    basis::writeFileAtomically(work / "joined.txt", story.substr(0, 3000) + "\n\n" + story.substr(3000));

    auto model = basis::DecoderModel::load(basis::test::sharedPath("models/stories260K/hf"));
    auto tok = basis::loadTokenizer(basis::test::sharedPath("models/stories260K/hf"));
    basis::CalibrationRequest preset;
    preset.dataset = "c4";
    preset.dataDir = work;
    preset.options.context = 64;
    basis::CalibrationRequest file = preset;
    file.dataset.clear();
    file.text = work / "joined.txt";
    const auto p = basis::calibrateFromText(*model, *tok, preset);
    const auto f = basis::calibrateFromText(*model, *tok, file);
    EXPECT_EQ(p.identity.text, f.identity.text);
    ASSERT_EQ(p.stats.tokens, f.stats.tokens);
    EXPECT_TRUE(p.stats.at(0, basis::InputSite::AttnIn).equal(f.stats.at(0, basis::InputSite::AttnIn)));
}

// The official repository's file, unmodified: it names the model only by its Hub name, which is valid whether or
// not the model is on this machine; the run finds it in the hub cache, or fails naming the places looked in.
TEST(PublishedConfig, ShareLlama7bNamesTheModelByItsHubName)
{
    const fs::path file = fs::path(BASIS_SOURCE_DIR) / "tests/run_config/data/share_llama_7b_20.yaml";
    const auto loaded = basis::loadRunConfig(file);
    EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.front().text;
    const basis::RunConfig& c = loaded.config;
    // lora_args: every published key read (the fine-tuning stage's options, finetuneOptionsFrom).
    EXPECT_TRUE(c.loraRequested);
    EXPECT_TRUE(c.saveLora);
    EXPECT_EQ(c.loraR, 8);
    EXPECT_EQ(c.loraAlpha, 32);
    EXPECT_EQ(c.loraTrainBatchSize, 1);
    EXPECT_DOUBLE_EQ(c.loraLearningRate, 1e-4);
    EXPECT_EQ(c.loraTrainEpoch, 2);
    EXPECT_EQ(c.loraRunName, "share_llama-7b_20");
    EXPECT_EQ(fs::path(c.loraOutputDir), file.parent_path() / "lora/share_llama-7b_20/wikitext");
    EXPECT_EQ(c.modelName, "jeffwan/llama-7b-hf");
    EXPECT_EQ(c.modelPath, "jeffwan/llama-7b-hf");   // a Hub name, not made a path under the config's folder
    EXPECT_EQ(c.groupSize, 2);
    EXPECT_EQ(c.compressionRatio, 20);
    EXPECT_EQ(c.calibrationSize, 256);
    EXPECT_EQ(c.sharePart, (std::vector<std::string>{"v", "k", "q", "up", "gate"}));
    EXPECT_EQ(basis::parseRunConfig(basis::writeRunConfig(c), "written").config, c);

    const fs::path cache = basis::test::scratchDir("published-cache");
    ::setenv("HF_HUB_CACHE", cache.string().c_str(), 1);
    ::unsetenv("HF_HOME");
    expectError([&] { basis::runPipeline(c); },
                {"stage load", "jeffwan/llama-7b-hf", (cache / "models--jeffwan--llama-7b-hf").string() + " (absent)"});
    // The same name in a cache laid out as huggingface_hub does resolves to its snapshot folder.
    const fs::path snap = basis::test::addHubSnapshot(cache, "jeffwan/llama-7b-hf", basis::test::embeddedPath("models/stories260K"),
                                                      "aaaabbbbccccddddeeeeffff0000111122223333");
    EXPECT_EQ(basis::resolveModelFolder(c.modelPath), snap);
    ::unsetenv("HF_HUB_CACHE");
    fs::remove_all(cache);
}

// builtin:stories260k and the tinystories preset without a data folder: a config that needs nothing beside the
// project. The same run through a Hub name in a fake cache (the same weights) gives the same perplexity.
TEST(Pipeline, BuiltinModelAndTextNeedNoPaths)
{
    const fs::path work = basis::test::scratchDir("pipeline-builtin");
    // Calibration on the tinystories preset with no data_dir: the built-in calib.txt.
    EXPECT_TRUE(fs::equivalent(basis::datasetFile("tinystories", "calibration", ""),
                               basis::test::embeddedPath("data/tinystories-valid/calib.txt")));
    // A short evaluation text keeps the test quick (the preset's eval.txt is read the same way, datasets tests).
    basis::writeFileAtomically(work / "eval.txt", basis::readFile(basis::test::embeddedPath("data/tinystories-valid/eval.txt")).substr(0, 20000));
    const std::string yaml = R"(model_args: {group_size: 2, compression_ratio: 30, context_length: 128, stride: 128}
calibration_args: {dataset_name: tinystories, calibration_size: 8, calib_batch_size: 4}
model_saving: {save_untrained_model: false}
basis_studio:
  model_path: builtin:stories260k
  evaluate:
    - ppl: {text: eval.txt, context: 128}
)";
    basis::writeFileAtomically(work / "builtin.yaml", yaml);
    const basis::RunConfig c = basis::loadRunConfig(work / "builtin.yaml").config;
    EXPECT_EQ(c.modelPath, "builtin:stories260k");
    EXPECT_TRUE(c.dataDir.empty());
    const auto out = basis::runPipeline(c);
    EXPECT_TRUE(fs::equivalent(out.at("config").at("model_folder").get<std::string>(), basis::test::embeddedPath("models/stories260K")));
    const auto& ppl = out.at("results").at("ppl_eval_128");
    const double builtinPpl = ppl.at("ppl,none").get<double>();

    const fs::path cache = work / "hub";
    basis::test::addHubSnapshot(cache, "karpathy/stories260K", basis::test::embeddedPath("models/stories260K"),
                                "0123456789abcdef0123456789abcdef01234567");
    ::setenv("HF_HUB_CACHE", cache.string().c_str(), 1);
    basis::writeFileAtomically(work / "hub.yaml", std::string(yaml).replace(yaml.find("builtin:stories260k"), 19, "karpathy/stories260K"));
    const basis::RunConfig h = basis::loadRunConfig(work / "hub.yaml").config;
    EXPECT_EQ(h.modelPath, "karpathy/stories260K");
    const auto viaHub = basis::runPipeline(h);
    ::unsetenv("HF_HUB_CACHE");
    EXPECT_EQ(viaHub.at("config").at("model_folder").get<std::string>(),
              (cache / "models--karpathy--stories260K/snapshots/0123456789abcdef0123456789abcdef01234567").string());
    EXPECT_DOUBLE_EQ(viaHub.at("results").at("ppl_eval_128").at("ppl,none").get<double>(), builtinPpl);
    EXPECT_TRUE(std::isfinite(builtinPpl) && builtinPpl > 1);
    fs::remove_all(work);
}

TEST(Pipeline, FailureNamesTheStage)
{
    basis::RunConfig c = basis::parseRunConfig(kMinimal, "x.yaml").config;
    c.modelPath = "/nonexistent-model";
    expectError([&] { basis::runPipeline(c); }, {"stage load", "/nonexistent-model"});
}

} // namespace
