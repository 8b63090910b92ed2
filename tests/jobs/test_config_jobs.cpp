// config_jobs.h: every YAML key the converters read reaches its option (change one key, that option changes).
#include "config_jobs.h"
#include "test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

using nlohmann::json;

// A run with one evaluation of each kind and a label for every part, so each key below has an option to reach.
const std::string kBase = R"(model_args:
  q_name: self_attn.q_proj
  o_name: self_attn.o_proj
  group_size: 2
  compression_ratio: 30
  context_length: 128
  stride: 128
calibration_args:
  dataset_name: wikitext
basis_studio:
  model_path: /tmp/model
  evaluate:
    - ppl: {text: /tmp/eval.txt}
    - throughput: {prompt_len: 16, gen_len: 4, repeats: 2}
    - tasks: {task: hellaswag, data: /tmp/h.jsonl, limit: 5}
)";

// Every option field the converters fill, by name.
json describe(const basis::RunConfig& c)
{
    const basis::RunSetup r = basis::runSetupFrom(c);
    const basis::CalibrateOptions k = basis::calibrateOptionsFrom(c);
    const basis::CompressOptions o = basis::compressOptionsFrom(c);
    const basis::PerplexityJobOptions p = basis::perplexityOptionsFrom(c, c.evaluations.at(0));
    const basis::ThroughputJobOptions t = basis::throughputOptionsFrom(c.throughput.at(0));
    const basis::TasksJobOptions m = basis::tasksOptionsFrom(c.tasks.at(0));
    const basis::CalibrateOptions& u = o.updateCalibration.value();
    return {{"run.device", r.device}, {"run.dtype", r.dtype}, {"run.threads", r.threads}, {"run.weights", r.weights},
            {"calib.text", k.text.string()}, {"calib.dataset", k.dataset}, {"calib.dataDir", k.dataDir.string()},
            {"calib.samples", k.samples}, {"calib.context", k.context}, {"calib.sampling", k.sampling},
            {"calib.seed", k.seed}, {"calib.batch", k.batch}, {"calib.bos", k.bos}, {"calib.cacheDir", k.cacheDir.string()}, {"calib.activations", k.activations},
            {"compress.method", o.settings.method}, {"compress.ratio", o.settings.ratio},
            {"compress.groupSize", o.settings.groupSize}, {"compress.shared", o.settings.shared},
            {"compress.private", o.settings.privateParts}, {"compress.update", o.settings.update},
            {"compress.updateText", o.updateText.string()}, {"compress.bits", o.settings.quant.bits},
            {"compress.rank", o.settings.quant.rank}, {"compress.qStep", o.settings.quant.qStep},
            {"compress.iters", o.settings.quant.iters}, {"compress.factorDtype", o.settings.quant.factorDtype}, {"compress.updateCacheDir", o.updateCacheDir.string()},
            {"update.text", u.text.string()}, {"update.dataset", u.dataset}, {"update.samples", u.samples},
            {"update.context", u.context}, {"update.seed", u.seed}, {"update.bos", u.bos}, {"update.activations", u.activations},
            {"ppl.text", p.text.string()}, {"ppl.dataset", p.dataset}, {"ppl.dataDir", p.dataDir.string()},
            {"ppl.context", p.context}, {"ppl.stride", p.stride}, {"ppl.protocol", p.protocol}, {"ppl.bos", p.bos},
            {"ppl.compressed", p.compressed}, {"ppl.name", basis::evaluationName(p)},
            {"throughput.promptLen", t.promptLen}, {"throughput.genLen", t.genLen}, {"throughput.repeats", t.repeats},
            {"throughput.compressed", t.compressed}, {"throughput.name", basis::evaluationName(t)},
            {"tasks.task", m.task}, {"tasks.data", m.data.string()}, {"tasks.limit", m.limit}, {"tasks.compressed", m.compressed}};
}

json optionsWith(const std::vector<std::string>& overrides)
{
    return describe(basis::parseRunConfig(kBase, "base.yaml", overrides).config);
}

struct KeyCase {
    std::vector<std::string> set;   // --set overrides
    json expected;                  // option name -> value it must take (and differ from the base's)
};

TEST(ConfigJobs, EveryKeyReachesItsOption)
{
    const json base = optionsWith({});
    const std::vector<KeyCase> cases = {
        {{"basis_studio.device=cpu"}, {{"run.device", "cpu"}}},
        {{"basis_studio.dtype=bfloat16"}, {{"run.dtype", "bfloat16"}}},
        {{"basis_studio.threads=1"}, {{"run.threads", 1}}},
        {{"basis_studio.weights=host"}, {{"run.weights", "host"}}},
        {{"basis_studio.activations=disk"}, {{"calib.activations", "disk"}, {"update.activations", "disk"}}},
        {{"basis_studio.calibration_text=/tmp/c.txt"}, {{"calib.text", "/tmp/c.txt"}, {"calib.dataset", ""}, {"update.text", "/tmp/c.txt"}}},
        {{"calibration_args.dataset_name=ptb"}, {{"calib.dataset", "ptb"}, {"update.dataset", "ptb"}}},
        {{"basis_studio.data_dir=/tmp/data"}, {{"calib.dataDir", "/tmp/data"}, {"ppl.dataDir", "/tmp/data"}}},
        {{"calibration_args.calibration_size=7"}, {{"calib.samples", 7}, {"update.samples", 7}}},
        // The inherited stride (128) is clamped to the shorter context.
        {{"model_args.context_length=64"}, {{"calib.context", 64}, {"update.context", 64}, {"ppl.context", 64}, {"ppl.stride", 64}, {"ppl.name", "ppl_eval_64"}}},
        {{"basis_studio.sampling=random"}, {{"calib.sampling", "random"}}},
        {{"basis_studio.seed=5"}, {{"calib.seed", 5}, {"update.seed", 5}}},
        {{"calibration_args.calib_batch_size=4"}, {{"calib.batch", 4}}},
        {{"basis_studio.bos=never"}, {{"calib.bos", "never"}, {"update.bos", "never"}, {"ppl.bos", "never"}}},
        {{"calibration_args.calib_path=/tmp/cache"}, {{"calib.cacheDir", "/tmp/cache"}}},
        {{"basis_studio.method=svd-llm"}, {{"compress.method", "svd-llm"}}},
        {{"model_args.compression_ratio=40"}, {{"compress.ratio", 40.0}}},
        {{"model_args.group_size=3"}, {{"compress.groupSize", 3}}},
        {{"model_args.share_part=[q]"}, {{"compress.shared", {"self_attn.q_proj"}}}},
        {{"model_args.private_part=[o, mlp.up_proj]"}, {{"compress.private", {"self_attn.o_proj", "mlp.up_proj"}}}},
        {{"after_calibration_update_args.update=true"}, {{"compress.update", true}}},
        {{"basis_studio.update_text=/tmp/u.txt"}, {{"compress.updateText", "/tmp/u.txt"}}},
        {{"after_calibration_update_args.build_update_calib=false", "after_calibration_update_args.update_calib_path=/tmp/uc"},
         {{"compress.updateCacheDir", "/tmp/uc"}}},
        {{"model_args.stride=64"}, {{"ppl.stride", 64}}},
        {{"basis_studio.method=caldera"}, {{"compress.method", "caldera"}}},
        {{"basis_studio.bits=2"}, {{"compress.bits", 2}}},
        {{"basis_studio.rank=16"}, {{"compress.rank", 16}}},
        {{"basis_studio.q_step=ldlq"}, {{"compress.qStep", "ldlq"}}},
        {{"basis_studio.iters=3"}, {{"compress.iters", 3}}},
        {{"basis_studio.factor_dtype=float32"}, {{"compress.factorDtype", "float32"}}},
        {{"basis_studio.evaluate=[{ppl: {text: /tmp/other.txt, context: 32, stride: 16, protocol: token-mean}}, "
          "{throughput: {prompt_len: 8, gen_len: 2, repeats: 1}}, {tasks: {task: piqa, data: /tmp/p.jsonl, limit: 3}}]"},
         {{"ppl.text", "/tmp/other.txt"}, {"ppl.context", 32}, {"ppl.stride", 16}, {"ppl.protocol", "token-mean"},
          {"ppl.name", "ppl_other_32"}, {"throughput.promptLen", 8}, {"throughput.genLen", 2}, {"throughput.repeats", 1},
          {"throughput.name", "throughput_p8_g2"}, {"tasks.task", "piqa"}, {"tasks.data", "/tmp/p.jsonl"}, {"tasks.limit", 3}}},
        {{"basis_studio.evaluate=[{ppl: {dataset: ptb}}, {throughput: {}}, {tasks: {task: hellaswag, data: /tmp/h.jsonl}}]"},
         {{"ppl.dataset", "ptb"}, {"ppl.text", ""}, {"ppl.name", "ppl_ptb_128"}}},
    };
    for (const KeyCase& k : cases) {
        const json options = optionsWith(k.set);
        for (const auto& [name, value] : k.expected.items()) {
            ASSERT_TRUE(options.contains(name)) << name;
            EXPECT_EQ(options.at(name), value) << k.set.front() << " -> " << name;
            EXPECT_NE(base.at(name), value) << k.set.front() << ": " << name << " already had that value";
        }
    }
    // The base itself: defaults of the YAML reach the options, and a run's evaluations measure its compressed model.
    EXPECT_EQ(base.at("calib.dataset"), "wikitext");
    EXPECT_EQ(base.at("ppl.stride"), 128);
    EXPECT_EQ(base.at("ppl.name"), "ppl_eval_128");
    EXPECT_EQ(base.at("compress.updateCacheDir"), "");
    EXPECT_TRUE(base.at("ppl.compressed").get<bool>() && base.at("throughput.compressed").get<bool>() &&
                base.at("tasks.compressed").get<bool>());
}

// An entry with its own shorter context inherits model_args.stride clamped to that context (else the run would
// fail at the evaluation, after calibrating and compressing); a stride the entry sets itself is kept as written.
TEST(ConfigJobs, InheritedStrideIsClampedToTheEntrysContext)
{
    const auto c = basis::parseRunConfig(kBase, "base.yaml",
                                         {"basis_studio.evaluate=[{ppl: {text: /tmp/a.txt, context: 64}}, "
                                          "{ppl: {text: /tmp/a.txt, context: 64, stride: 100}}, "
                                          "{ppl: {text: /tmp/a.txt, context: 256}}]"})
                       .config;
    ASSERT_EQ(c.evaluations.size(), 3u);
    EXPECT_EQ(basis::perplexityOptionsFrom(c, c.evaluations[0]).stride, 64);
    EXPECT_EQ(basis::perplexityOptionsFrom(c, c.evaluations[1]).stride, 100);
    EXPECT_EQ(basis::perplexityOptionsFrom(c, c.evaluations[2]).stride, 128);
}

TEST(ConfigJobs, QuantizationKeysAreValidatedAndWrittenBack)
{
    basis::test::expectError([] { basis::parseRunConfig(kBase, "base.yaml", {"basis_studio.bits=5"}); },
                             {"base.yaml", "bits must be 2, 3, 4 or 8, got 5"});
    basis::test::expectError([] { basis::parseRunConfig(kBase, "base.yaml", {"basis_studio.q_step=gptq"}); },
                             {"q step must be rtn or ldlq"});
    // The studio's export writes the keys; reading them back gives the same settings.
    const basis::RunConfig c =
        basis::parseRunConfig(kBase, "base.yaml", {"basis_studio.method=caldera", "basis_studio.bits=3", "basis_studio.rank=16"}).config;
    const basis::RunConfig again = basis::parseRunConfig(basis::writeRunConfig(c), "again.yaml").config;
    EXPECT_EQ(again.quant.bits, 3);
    EXPECT_EQ(again.quant.rank, 16);
    EXPECT_TRUE(again == c);
}

} // namespace
