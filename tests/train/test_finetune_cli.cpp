// basis-cli finetune end to end on the built-in stories260K (compressed in the test through the Workspace): every
// option changes what the engine did, read back from the command's --json line (the record config.json keeps, the
// steps, tokens and loss curve). Named test_finetune_cli: it loads the SentencePiece tokenizer (left out under ASan).
#include "test_support.h"

#include "atomic_file.h"
#include "pipeline.h"
#include "run_config.h"
#include "workspace.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Fixture {
    fs::path work, model, text, evalText;
};

// A compressed stories260K (Basis Sharing 30 %, g = 2, on the first 20000 bytes of calib.txt) and two short texts.
const Fixture& fixture()
{
    static Fixture f = [] {
        Fixture x;
        x.work = basis::test::scratchDir("ft-cli");
        x.text = x.work / "train.txt";
        x.evalText = x.work / "eval.txt";
        basis::writeFileAtomically(x.text, basis::readFile(basis::test::sharedPath("data/tinystories-valid/calib.txt")).substr(0, 20000));
        basis::writeFileAtomically(x.evalText, basis::readFile(basis::test::sharedPath("data/tinystories-valid/eval.txt")).substr(0, 6000));
        basis::Workspace ws;
        ws.load(basis::test::sharedPath("models/stories260K/hf"), {"cpu", "float32", 1});
        basis::CalibrateOptions c;
        c.text = x.text;
        c.context = 64;
        ws.calibrate(c);
        basis::CompressOptions o;
        o.settings.method = "basis-sharing";
        o.settings.ratio = 30;
        o.settings.groupSize = 2;
        ws.compress(o);
        x.model = x.work / "compressed";
        ws.saveCompressed(x.model);
        return x;
    }();
    return f;
}

// Runs basis-cli finetune with the base options plus `extra` (later options win); returns the --json object.
nlohmann::json finetune(const std::string& name, const std::vector<std::string>& extra, int* status = nullptr)
{
    const Fixture& f = fixture();
    // The base options; an extra "--key value" replaces the base's --key (CLI11 refuses an option given twice).
    std::vector<std::pair<std::string, std::string>> opts = {
        {"--model", f.model.string()}, {"--text", f.text.string()}, {"--eval-text", f.evalText.string()},
        {"--train", "coefficients"}, {"--steps", "3"}, {"--context", "64"}, {"--batch", "2"}, {"--lr", "1e-3"},
        {"--eval-context", "64"}, {"--threads", "1"}, {"--json", ""}, {"--out", (f.work / ("out-" + name)).string()}};
    for (const auto& e : extra) {
        const auto space = e.find(' ');
        const std::string key = e.substr(0, space), value = space == std::string::npos ? "" : e.substr(space + 1);
        auto it = std::find_if(opts.begin(), opts.end(), [&](const auto& kv) { return kv.first == key; });
        if (it != opts.end())
            it->second = value;
        else
            opts.emplace_back(key, value);
    }
    std::string cmd = std::string(BASIS_CLI) + " finetune";
    for (const auto& [k, v] : opts)
        cmd += " " + k + (v.empty() ? "" : " " + v);
    cmd += " 2>" + (f.work / (name + ".err")).string();
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        out.append(buf, n);
    const int rc = ::pclose(p);
    if (status)
        *status = rc;
    else
        EXPECT_EQ(rc, 0) << cmd << "\n" << basis::readFile(f.work / (name + ".err"));
    const auto end = out.find_last_not_of('\n');
    if (end == std::string::npos)
        return {};
    const auto begin = out.rfind('\n', end);
    return nlohmann::json::parse(out.substr(begin == std::string::npos ? 0 : begin + 1, end + 1));
}

const nlohmann::json& base()
{
    static const nlohmann::json b = finetune("base", {});
    return b;
}

double loss(const nlohmann::json& j) { return j.at("final_loss").get<double>(); }

TEST(FinetuneCli, BaseRunHealsAndSavesWhatItReports)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const auto& b = base();
    EXPECT_EQ(b.at("steps"), 3);
    EXPECT_EQ(b.at("tokens"), 3 * 2 * 63);
    EXPECT_EQ(b.at("parameters_before"), b.at("parameters_after"));
    EXPECT_LT(b.at("ppl_after").get<double>(), b.at("ppl_before").get<double>());
    const auto config = basis::readJsonFile(fixture().work / "out-base" / "config.json");
    EXPECT_EQ(config.at("finetune").at("final_loss"), b.at("final_loss"));
    EXPECT_EQ(config.at("finetune").at("text_fingerprint"), b.at("finetune").at("text_fingerprint"));
    EXPECT_TRUE(config.contains("compression"));
}

TEST(FinetuneCli, EveryOptionReachesTheEngine)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const auto& b = base();
    const int64_t trainable = b.at("trainable_parameters");
    // What trains.
    const auto bases = finetune("bases", {"--train bases"});
    EXPECT_GT(bases.at("trainable_parameters").get<int64_t>(), trainable);
    const auto lora = finetune("lora", {"--train lora", "--lora-rank 4", "--lora-targets q,v"});
    const auto lora8 = finetune("lora8", {"--train lora", "--lora-rank 8", "--lora-targets q,v"});
    EXPECT_EQ(lora8.at("trainable_parameters").get<int64_t>(), 2 * lora.at("trainable_parameters").get<int64_t>());
    EXPECT_EQ(lora8.at("finetune").at("lora").at("rank"), 8);
    const auto loraQ = finetune("loraq", {"--train lora", "--lora-rank 4", "--lora-targets q"});
    EXPECT_LT(loraQ.at("trainable_parameters").get<int64_t>(), lora.at("trainable_parameters").get<int64_t>());
    EXPECT_NE(loss(finetune("alpha", {"--train lora", "--lora-rank 4", "--lora-targets q,v", "--lora-alpha 64"})), loss(lora));
    EXPECT_NE(loss(finetune("dropout", {"--train lora", "--lora-rank 4", "--lora-targets q,v", "--lora-dropout 0.5"})), loss(lora));
    // Budget and batches.
    EXPECT_EQ(finetune("steps", {"--steps 4"}).at("steps"), 4);
    EXPECT_EQ(finetune("tokens", {"--steps 0", "--tokens 300"}).at("steps"), 3);   // ceil(300 / 126)
    const auto epochs = finetune("epochs", {"--steps 0", "--epochs 0.5"});
    EXPECT_EQ(epochs.at("steps"), (epochs.at("finetune").at("text_tokens").get<int64_t>() / 64 + 3) / 4);   // ceil(chunks/2/2)
    EXPECT_EQ(finetune("context", {"--context 32"}).at("tokens"), 3 * 2 * 31);
    EXPECT_EQ(finetune("batch", {"--batch 3"}).at("tokens"), 3 * 3 * 63);
    EXPECT_EQ(finetune("accumulation", {"--accumulation 2"}).at("tokens"), 3 * 2 * 2 * 63);
    // Optimizer and schedule.
    EXPECT_NE(loss(finetune("lr", {"--lr 3e-3"})), loss(b));
    EXPECT_EQ(finetune("warmup", {"--warmup 2"}).at("history").at(0).at("lr"), 5e-4);
    const auto minLr = finetune("minlr", {"--min-lr 1e-3"});
    EXPECT_EQ(minLr.at("history").at(2).at("lr"), 1e-3);   // constant: min-lr equal to lr
    EXPECT_LT(b.at("history").at(2).at("lr").get<double>(), 1e-3);
    EXPECT_NE(loss(finetune("beta1", {"--beta1 0.5"})), loss(b));
    EXPECT_NE(loss(finetune("beta2", {"--beta2 0.5"})), loss(b));
    EXPECT_NE(loss(finetune("eps", {"--eps 0.1"})), loss(b));
    EXPECT_NE(loss(finetune("wd", {"--weight-decay 1"})), loss(b));
    EXPECT_NE(loss(finetune("clip", {"--clip 0.01"})), loss(b));
    EXPECT_NE(loss(finetune("seed", {"--seed 5"})), loss(b));
    EXPECT_NE(loss(finetune("bf16", {"--precision bfloat16"})), loss(b));
    // Evaluation, text, BOS.
    const auto every = finetune("every", {"--eval-every 1"});
    EXPECT_TRUE(every.at("history").at(0).contains("eval_ppl"));
    EXPECT_FALSE(b.at("history").at(0).contains("eval_ppl"));
    EXPECT_NE(finetune("evalctx", {"--eval-context 32"}).at("ppl_before"), b.at("ppl_before"));
    EXPECT_EQ(finetune("bos", {"--bos never"}).at("finetune").at("text_tokens").get<int64_t>(),
              b.at("finetune").at("text_tokens").get<int64_t>() - 1);
    EXPECT_EQ(finetune("threads", {"--threads 2"}).at("threads"), 2);
    // Checkpoints: written every step; a resumed run that is already complete does no step more.
    const fs::path ckpt = fixture().work / "run.ckpt";
    finetune("ckpt", {"--checkpoint " + ckpt.string(), "--checkpoint-every 1"});
    EXPECT_TRUE(fs::exists(ckpt));
    const auto resumed = finetune("resume", {"--checkpoint " + ckpt.string(), "--resume"});
    EXPECT_EQ(resumed.at("resumed_from"), 3);
    EXPECT_EQ(resumed.at("final_loss"), b.at("final_loss"));
}

// --peft-out: the adapters of a lora run in PEFT's layout beside the healed model, against the dense export of the
// compressed model (written as base_model/); the adapters' algebra is checked in test_peft_export.cpp.
TEST(FinetuneCli, PeftOutWritesTheAdaptersInPeftsLayout)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const fs::path peft = fixture().work / "peft";
    const auto j = finetune("peft", {"--train lora", "--lora-rank 4", "--lora-alpha 8", "--lora-targets q,v",
                                     "--peft-out " + peft.string()});
    EXPECT_EQ(fs::path(j.at("peft_out").get<std::string>()), peft);
    const auto config = basis::readJsonFile(peft / "adapter_config.json");
    EXPECT_EQ(config.at("peft_type"), "LORA");
    EXPECT_EQ(config.at("r"), 4);
    EXPECT_EQ(config.at("lora_alpha").get<double>(), 8.0);
    EXPECT_EQ(config.at("target_modules"), (std::vector<std::string>{"self_attn.q_proj", "self_attn.v_proj"}));
    EXPECT_EQ(fs::path(config.at("base_model_name_or_path").get<std::string>()), fs::absolute(peft) / "base_model");
    EXPECT_TRUE(fs::exists(peft / "adapter_model.safetensors"));
    const auto base = basis::readJsonFile(peft / "base_model" / "config.json");
    EXPECT_FALSE(base.contains("compression"));   // a dense checkpoint
    EXPECT_EQ(j.at("finetune").at("lora").at("peft_out"), fs::absolute(peft).string());
    // Only lora runs have adapters to write.
    int rc = 0;
    finetune("peft-coeff", {"--peft-out " + (fixture().work / "peft-coeff").string()}, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(basis::readFile(fixture().work / "peft-coeff.err").find("--peft-out writes LoRA adapters: it needs --train lora"),
              std::string::npos);
    EXPECT_FALSE(fs::exists(fixture().work / "peft-coeff"));
}

TEST(FinetuneCli, BadOptionsAreClearErrors)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    int rc = 0;
    finetune("bad-train", {"--train everything"}, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(basis::readFile(fixture().work / "bad-train.err").find("--train: unknown 'everything'"), std::string::npos);
    finetune("bad-target", {"--train lora", "--lora-targets qq"}, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(basis::readFile(fixture().work / "bad-target.err").find("unknown projection 'qq'"), std::string::npos);
    finetune("bad-resume", {"--resume"}, &rc);
    EXPECT_NE(rc, 0);
    EXPECT_NE(basis::readFile(fixture().work / "bad-resume.err").find("--checkpoint FILE"), std::string::npos);
}

// lora_args of the published YAML run as a stage after the compression: each key reaches the fine-tuning (read back
// from the record the healed model's config.json keeps), and the run's evaluations measure the healed model.
TEST(FinetunePipeline, LoraArgsRunAfterCompression)
{
    BASIS_REQUIRE_SHARED("models/stories260K/hf");
    const Fixture& f = fixture();
    const fs::path healed = f.work / "pipeline-healed";
    auto yaml = [&](const std::string& lora, const std::string& studio) {
        return "model_args: {group_size: 2, compression_ratio: 30, context_length: 64, stride: 64, q_name: self_attn.q_proj}\n"
               "calibration_args: {calibration_size: 8}\n"
               "model_saving: {save_untrained_model: false}\n"
               "lora_args:\n" + lora +
               "basis_studio:\n  model_path: " + basis::test::sharedPath("models/stories260K/hf").string() +
               "\n  calibration_text: " + f.text.string() + "\n  threads: 1\n" + studio +
               "  evaluate:\n    - ppl: {text: " + f.evalText.string() + "}\n";
    };
    const auto loaded = basis::parseRunConfig(
        yaml("  save_lora: true\n  lora_r: 4\n  lora_alpha: 8\n  lora_output_dir: " + healed.string() +
                 "\n  lora_train_batch_size: 2\n  lora_learning_rate: 2.e-3\n  lora_train_epoch: 0.02\n  lora_run_name: heal-test\n",
             "  lora_targets: [q, v]\n  lora_dropout: 0.1\n  seed: 3\n  finetune_eval_text: " + f.evalText.string() +
                 "\n  finetune_eval_every: 1\n  finetune_peft_out: " + (f.work / "pipeline-peft").string() + "\n"),
        "heal.yaml");
    EXPECT_TRUE(loaded.warnings.empty()) << loaded.warnings.front().text;
    const nlohmann::json out = basis::runPipeline(loaded.config);
    const nlohmann::json& r = out.at("finetune");
    EXPECT_EQ(r.at("train"), "lora");
    EXPECT_EQ(r.at("lora").at("rank"), 4);
    EXPECT_EQ(r.at("lora").at("alpha"), 8.0);
    EXPECT_EQ(r.at("lora").at("dropout"), 0.1);
    EXPECT_EQ(r.at("lora").at("targets"), (std::vector<std::string>{"self_attn.q_proj", "v"}));   // q through q_name
    EXPECT_EQ(r.at("lr"), 2e-3);
    EXPECT_EQ(r.at("min_lr"), 2e-3);   // constant, as the published trainer
    EXPECT_EQ(r.at("batch"), 2);
    EXPECT_EQ(r.at("context"), 64);
    EXPECT_EQ(r.at("seed"), 3);
    EXPECT_EQ(r.at("run_name"), "heal-test");
    EXPECT_EQ(r.at("eval_text"), f.evalText.string());   // finetune_eval_text
    EXPECT_TRUE(r.contains("eval_ppl_before") && r.contains("eval_ppl_after"));
    EXPECT_EQ(r.at("eval_every"), 1);                     // finetune_eval_every
    EXPECT_EQ(r.at("text"), f.text.string());   // default: the calibration text
    const int64_t chunks = r.at("text_tokens").get<int64_t>() / 64;
    EXPECT_EQ(r.at("steps").get<int64_t>(), static_cast<int64_t>(std::ceil(0.02 * static_cast<double>(chunks) / 2)));
    // Saved to lora_output_dir with the record and the results file; the evaluation measured the healed model.
    const auto config = basis::readJsonFile(healed / "config.json");
    EXPECT_EQ(config.at("finetune").at("run_name"), "heal-test");
    EXPECT_TRUE(fs::exists(healed / "results.json"));
    EXPECT_EQ(basis::readJsonFile(f.work / "pipeline-peft" / "adapter_config.json").at("r"), 4);   // finetune_peft_out
    basis::Workspace ws;
    ws.load(healed, {"cpu", "float32", 1});
    basis::PerplexityJobOptions p;
    p.text = f.evalText;
    p.context = 64;
    const double healedPpl = ws.perplexity(p).result.ppl;
    EXPECT_NEAR(out.at("results").begin().value().at("ppl,none").get<double>(), healedPpl, 1e-9 * healedPpl)
        << out.at("results").dump();

    // The basis_studio keys: what trains, the text, a step or token budget; save_lora false saves nothing.
    const auto other = basis::parseRunConfig(
        yaml("  save_lora: false\n  lora_output_dir: " + (f.work / "never").string() + "\n",
             "  finetune_train: coefficients\n  finetune_text: " + f.evalText.string() + "\n  finetune_steps: 2\n"),
        "other.yaml");
    const nlohmann::json o2 = basis::runPipeline(other.config);
    EXPECT_EQ(o2.at("finetune").at("train"), "coefficients");
    EXPECT_EQ(o2.at("finetune").at("steps"), 2);
    EXPECT_EQ(o2.at("finetune").at("text"), f.evalText.string());
    EXPECT_FALSE(fs::exists(f.work / "never"));
    const auto tokensRun = basis::parseRunConfig(yaml("  save_lora: false\n", "  finetune_tokens: 200\n"), "t.yaml");
    EXPECT_EQ(basis::runPipeline(tokensRun.config).at("finetune").at("steps"), 4);   // ceil(200 / 63): batch 1 by default
}

} // namespace
