// Fine-tuning: gradients of a factorized projection against finite differences, the shared basis's gradient
// against the sum of its layers', lr = 0, frozen tensors, LoRA merged against unmerged, resume after a cancel against
// an uninterrupted run, an earlier output surviving a cancelled run, and the saved model reloading as trained.
// Micro shapes with random weights and random token ids: no tokenizer (the CLI suite runs stories260K).
#include "test_support.h"
#include "train_fixtures.h"

#include "atomic_file.h"
#include "calibration.h"
#include "compress.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "finetune.h"
#include "finetuned_io.h"
#include "lora.h"
#include "output_folder.h"
#include "synth.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <random>

namespace {

namespace fs = std::filesystem;
using basis::test::expectError;
using namespace basis::test::train;

// Every tensor of the model (shared ones once), as copies, in a fixed order.
std::vector<at::Tensor> allTensors(const basis::DecoderModel& m)
{
    std::vector<at::Tensor> out;
    for (const auto& [name, t] : m.otherTensors())
        out.push_back(t.clone());
    for (int64_t l = 0; l < m.layerCount(); ++l)
        for (const auto& s : m.layer(l).slots)
            for (const at::Tensor* t : {&s.weight(), &s.basis(), &s.coeff()})
                if (t->defined())
                    out.push_back(t->clone());
    return out;
}

TEST(Gradients, FactorizedProjectionMatchesFiniteDifferences)
{
    // y = (x B) C + b in float64 on a micro shape; loss = sum(y * R). Central differences, step 1e-6.
    at::manual_seed(5);
    const auto f64 = at::TensorOptions().dtype(at::kDouble);
    basis::ProjectionSpec spec;
    spec.in = 6;
    spec.out = 5;
    spec.hasBias = true;
    at::Tensor B = at::randn({6, 3}, f64).requires_grad_(true), C = at::randn({3, 5}, f64).requires_grad_(true);
    at::Tensor bias = at::randn({5}, f64).requires_grad_(true);
    const at::Tensor x = at::randn({2, 4, 6}, f64), R = at::randn({2, 4, 5}, f64);
    basis::LinearSlot slot(0, spec, at::Tensor(), bias);
    slot.setFactorized(B, C);
    auto loss = [&]() { return (slot.forward(x) * R).sum(); };
    loss().backward();
    at::NoGradGuard noGrad;
    for (at::Tensor* p : {&B, &C, &bias}) {
        at::Tensor numeric = at::zeros_like(*p);
        auto flat = p->view({-1});
        for (int64_t i = 0; i < flat.numel(); ++i) {
            const double h = 1e-6, v = flat[i].item<double>();
            flat[i] = v + h;
            const double up = loss().item<double>();
            flat[i] = v - h;
            const double down = loss().item<double>();
            flat[i] = v;
            numeric.view({-1})[i] = (up - down) / (2 * h);
        }
        EXPECT_TRUE(at::allclose(p->grad(), numeric, 1e-7, 1e-8)) << (p->grad() - numeric).abs().max().item<double>();
    }
}

TEST(Gradients, SharedBasisReceivesTheSumOfItsLayersGradients)
{
    auto c = compressedMicro(microModel("llama-micro"));
    basis::DecoderModel& m = *c.model;
    m.makeTrainable(at::kDouble);
    ASSERT_TRUE(m.slot(0, 0).basis().is_same(m.slot(1, 0).basis()));   // q of layers 0 and 1: one tensor
    const at::Tensor ids = at::tensor(randomIds(2 * 24, 7), at::kLong).view({2, 24});
    auto lossOf = [&]() {
        m.setAutograd(true);
        at::Tensor h = m.hiddenStates(ids);
        at::Tensor loss = (h * h).sum();
        m.setAutograd(false);
        return loss;
    };
    at::Tensor shared = m.slot(0, 0).basis();
    shared.requires_grad_(true);
    lossOf().backward();
    const at::Tensor sharedGrad = shared.grad().clone();
    shared.requires_grad_(false);
    // The same weights with the basis copied per layer: each copy's gradient is its layer's.
    std::vector<at::Tensor> copies;
    for (int64_t l : {0, 1}) {
        at::Tensor copy = shared.detach().clone().requires_grad_(true);
        copies.push_back(copy);
        m.slot(l, 0).mapTensors([&](const at::Tensor& t) { return t.is_same(shared) ? copy : t; });
    }
    lossOf().backward();
    const at::Tensor sum = copies[0].grad() + copies[1].grad();
    EXPECT_GT(copies[0].grad().abs().max().item<double>(), 0);
    EXPECT_GT(copies[1].grad().abs().max().item<double>(), 0);
    EXPECT_TRUE(at::allclose(sharedGrad, sum, 1e-10, 1e-12)) << (sharedGrad - sum).abs().max().item<double>();
}

TEST(Training, LrZeroChangesNothing)
{
    auto c = compressedMicro(microModel("llama-micro"));
    const auto before = allTensors(*c.model);
    auto o = smallRun("bases", 3);
    o.lr = 0;
    o.weightDecay = 0.1;   // decoupled decay is scaled by the learning rate too
    const auto r = basis::finetuneModel(*c.model, randomIds(2000, 1), {}, o);
    EXPECT_EQ(r.steps, 3);
    EXPECT_GT(r.history.front().gradNorm, 0);
    const auto after = allTensors(*c.model);
    ASSERT_EQ(before.size(), after.size());
    for (size_t i = 0; i < before.size(); ++i)
        EXPECT_TRUE(at::equal(before[i], after[i])) << "tensor " << i;
}

TEST(Training, CoefficientsTrainAndEverythingElseStaysBitIdentical)
{
    auto c = compressedMicro(microModel("llama-micro"));
    basis::DecoderModel& m = *c.model;
    std::vector<at::Tensor> others, bases, coeffs;
    for (const auto& [name, t] : m.otherTensors())
        others.push_back(t.clone());
    for (int64_t l = 0; l < m.layerCount(); ++l)
        for (const auto& s : m.layer(l).slots) {
            ASSERT_TRUE(s.isFactorized());
            bases.push_back(s.basis().clone());
            coeffs.push_back(s.coeff().clone());
        }
    const int64_t params = m.parameterCount();
    const auto r = basis::finetuneModel(m, randomIds(2000, 1), randomIds(300, 2), smallRun("coefficients", 4));
    EXPECT_LT(r.history.back().loss, r.history.front().loss);
    ASSERT_TRUE(r.pplBefore && r.pplAfter);
    EXPECT_LT(*r.pplAfter, *r.pplBefore * 1.5);
    size_t i = 0;
    for (const auto& [name, t] : m.otherTensors())
        EXPECT_TRUE(at::equal(t, others[i++])) << name;
    i = 0;
    int changed = 0;
    for (int64_t l = 0; l < m.layerCount(); ++l)
        for (const auto& s : m.layer(l).slots) {
            EXPECT_TRUE(at::equal(s.basis(), bases[i])) << "basis of layer " << l << " " << s.spec().part;
            changed += !at::equal(s.coeff(), coeffs[i]);
            ++i;
        }
    EXPECT_EQ(changed, static_cast<int>(coeffs.size()));
    EXPECT_EQ(m.parameterCount(), params);
    // Trained: every coefficient, no basis.
    int64_t expected = 0;
    for (const auto& t : coeffs)
        expected += t.numel();
    EXPECT_EQ(r.trainableParameters, expected);
}

TEST(Training, BasesModeTrainsEachSharedBasisOnce)
{
    auto c = compressedMicro(microModel("llama-micro"));
    basis::DecoderModel& m = *c.model;
    const at::Tensor basis0 = m.slot(0, 0).basis().clone();
    const int64_t params = m.parameterCount();
    const auto r = basis::finetuneModel(m, randomIds(2000, 1), {}, smallRun("bases", 2));
    // Parameters counted with shared bases once equal what trained (the model has nothing but projections to train
    // besides embeddings and norms, which stay frozen).
    int64_t frozen = 0;
    for (const auto& [name, t] : m.otherTensors())
        frozen += t.numel();
    EXPECT_EQ(r.trainableParameters, params - frozen);
    EXPECT_TRUE(m.slot(0, 0).basis().is_same(m.slot(1, 0).basis()));
    EXPECT_FALSE(at::equal(m.slot(0, 0).basis(), basis0));
    EXPECT_EQ(m.parameterCount(), params);
}

TEST(Lora, MergedAndUnmergedGiveTheSameLogits)
{
    for (const std::string preset : {"llama-micro", "gpt2-micro"}) {
        SCOPED_TRACE(preset);
        const fs::path dir = microModel(preset);
        for (bool compressed : {false, true}) {
            auto c = compressed ? compressedMicro(dir) : Compressed{basis::DecoderModel::load(dir), {}};
            basis::DecoderModel& m = *c.model;
            m.makeTrainable(at::kFloat);
            const int64_t params = m.parameterCount();
            auto o = smallRun("lora", 1);
            o.loraTargets = {m.table().projections.front().part, m.table().projections.back().part};
            const at::Tensor ids = at::tensor(randomIds(40, 9), at::kLong).view({2, 20});
            const at::Tensor base = m.forward(ids);
            basis::LoraAdapters lora(m, o);
            ASSERT_EQ(lora.size(), static_cast<size_t>(2 * m.layerCount()));
            {
                at::NoGradGuard g;
                at::manual_seed(0);
                for (const at::Tensor& t : lora.parameters())
                    t.normal_(0, 0.1);   // Bm starts at zero: random factors make the adapters count
            }
            lora.setTraining(false);
            const at::Tensor unmerged = m.forward(ids);
            lora.merge();
            const at::Tensor merged = m.forward(ids);
            EXPECT_FALSE(at::allclose(unmerged, base, 1e-3, 1e-3));
            EXPECT_TRUE(at::allclose(merged, unmerged, 0, 1e-5)) << (merged - unmerged).abs().max().item<double>();
            EXPECT_EQ(m.parameterCount(), params);
            EXPECT_EQ(m.slot(0, 0).isFactorized(), compressed);
        }
    }
}

TEST(Training, ResumeAfterCancelGivesTheWeightsOfAnUninterruptedRun)
{
    const fs::path dir = microModel("llama-micro");
    for (const std::string train : {"bases", "lora"}) {
        SCOPED_TRACE(train);
        auto o = smallRun(train, 6);
        o.loraDropout = 0.1;
        o.seed = 3;
        const auto text = randomIds(1500, 4);
        auto a = compressedMicro(dir);
        const auto ra = basis::finetuneModel(*a.model, text, {}, o);

        o.checkpoint = basis::test::scratchDir("ft-ckpt-" + train) / "train.ckpt";
        o.resume = true;
        auto b = compressedMicro(dir);
        basis::CancelToken cancel;
        basis::JobContext job;
        job.cancel = &cancel;
        EXPECT_THROW(basis::finetuneModel(*b.model, text, {}, o, job,
                                          [&](const basis::TrainStep& s) {
                                              if (s.step == 3)
                                                  cancel.cancel();
                                          }),
                     basis::Cancelled);
        ASSERT_TRUE(fs::exists(o.checkpoint));
        auto c = compressedMicro(dir);
        const auto rc = basis::finetuneModel(*c.model, text, {}, o);
        EXPECT_EQ(rc.resumedFrom, 3);
        ASSERT_EQ(rc.history.size(), ra.history.size());
        for (size_t i = 0; i < ra.history.size(); ++i)
            EXPECT_EQ(rc.history[i].loss, ra.history[i].loss) << "step " << i + 1;
        const auto wa = allTensors(*a.model), wc = allTensors(*c.model);
        for (size_t i = 0; i < wa.size(); ++i)
            EXPECT_TRUE(at::equal(wa[i], wc[i])) << "tensor " << i;

        // Another run's options are refused, naming the checkpoint and the field.
        auto other = o;
        other.lr = 5e-3;
        auto d = compressedMicro(dir);
        expectError([&] { basis::finetuneModel(*d.model, text, {}, other); }, {o.checkpoint.string(), "lr"});
    }
}

// A cancel that arrives while the model is being evaluated (mid-run, or after the last step) still leaves a
// checkpoint of every finished step; the resumed run ends where the uninterrupted one does and reports the
// perplexity before training, taken from the checkpoint.
TEST(Training, CancelDuringAnEvaluationIsCheckpointedAndTheResumeKeepsThePplBefore)
{
    const fs::path dir = microModel("llama-micro");
    const auto text = randomIds(1500, 4);
    const auto evalIds = randomIds(200, 7);
    auto o = smallRun("coefficients", 6);
    o.evalEvery = 2;
    o.evalContext = 32;
    auto a = compressedMicro(dir);
    const auto ra = basis::finetuneModel(*a.model, text, evalIds, o);
    ASSERT_TRUE(ra.pplBefore && ra.pplAfter);
    for (const auto& [armAfter, resumedFrom] : {std::pair<int64_t, int64_t>{1, 2}, {5, 6}}) {
        SCOPED_TRACE("armed after step " + std::to_string(armAfter));
        auto run = o;
        run.checkpoint = basis::test::scratchDir("ft-eval-cancel-" + std::to_string(armAfter)) / "train.ckpt";
        run.resume = true;
        auto b = compressedMicro(dir);
        basis::CancelToken cancel;
        basis::JobContext job;
        job.cancel = &cancel;
        bool armed = false;
        // Evaluations run in inference mode, training forward passes do not: the first evaluation after arming.
        b.model->setInputObserver([&](int64_t, basis::InputSite, const at::Tensor&) {
            if (armed && c10::InferenceMode::is_enabled())
                cancel.cancel();
        });
        EXPECT_THROW(basis::finetuneModel(*b.model, text, evalIds, run, job,
                                          [&](const basis::TrainStep& s) { armed = armed || s.step == armAfter; }),
                     basis::Cancelled);
        ASSERT_TRUE(fs::exists(run.checkpoint));
        auto c = compressedMicro(dir);
        const auto rc = basis::finetuneModel(*c.model, text, evalIds, run);
        EXPECT_EQ(rc.resumedFrom, resumedFrom);
        ASSERT_TRUE(rc.pplBefore.has_value());
        EXPECT_EQ(*rc.pplBefore, *ra.pplBefore);
        EXPECT_EQ(*rc.pplAfter, *ra.pplAfter);
        ASSERT_EQ(rc.history.size(), ra.history.size());
        for (size_t i = 0; i < ra.history.size(); ++i)
            EXPECT_EQ(rc.history[i].loss, ra.history[i].loss) << "step " << i + 1;
        const auto wa = allTensors(*a.model), wc = allTensors(*c.model);
        for (size_t i = 0; i < wa.size(); ++i)
            EXPECT_TRUE(at::equal(wa[i], wc[i])) << "tensor " << i;
    }
}

TEST(Saving, ReloadsAsTrainedAndACancelledRunLeavesTheEarlierFolder)
{
    const fs::path dir = microModel("llama-micro");
    const fs::path out = basis::test::scratchDir("ft-out") / "healed";
    auto c = compressedMicro(dir);
    const int64_t params = c.model->parameterCount();
    const auto r = basis::finetuneModel(*c.model, randomIds(1500, 1), {}, smallRun("lora", 3));
    const nlohmann::json record = {{"train", "lora"}, {"final_loss", r.finalLoss}};
    basis::saveFinetunedModel(*c.model, basis::compressionSection(c.result), out, record);
    auto loaded = basis::DecoderModel::load(out);
    const at::Tensor ids = at::tensor(randomIds(30, 5), at::kLong).view({1, 30});
    EXPECT_TRUE(at::equal(loaded->forward(ids), c.model->forward(ids)));
    EXPECT_EQ(loaded->parameterCount(), params);
    EXPECT_TRUE(loaded->layer(0).slots[0].basis().is_same(loaded->layer(1).slots[0].basis()));
    EXPECT_EQ(loaded->config().raw.at("finetune").at("train"), "lora");
    const std::string config = basis::readFile(out / "config.json");

    // In shards (here of 20 kB): an index beside them, and the model it loads computes the same logits.
    const fs::path sharded = out.parent_path() / "healed-sharded";
    basis::saveFinetunedModel(*c.model, basis::compressionSection(c.result), sharded, record, {}, 20'000);
    EXPECT_TRUE(fs::exists(sharded / "model.safetensors.index.json"));
    EXPECT_FALSE(fs::exists(sharded / "model.safetensors"));
    size_t shards = 0;
    for (const auto& e : fs::directory_iterator(sharded))
        shards += e.path().extension() == ".safetensors";
    EXPECT_GE(shards, 2u);
    EXPECT_TRUE(at::equal(basis::DecoderModel::load(sharded)->forward(ids), c.model->forward(ids)));
    EXPECT_NO_THROW(basis::verifyOutputFolder(sharded, basis::OutputKind::CompressedModel));

    // A second run, cancelled during training: the folder is untouched.
    auto d = compressedMicro(dir);
    basis::CancelToken cancel;
    basis::JobContext job;
    job.cancel = &cancel;
    EXPECT_THROW(basis::finetuneModel(*d.model, randomIds(1500, 2), {}, smallRun("bases", 5), job,
                                      [&](const basis::TrainStep& s) {
                                          if (s.step == 2)
                                              cancel.cancel();
                                      }),
                 basis::Cancelled);
    // ... and a save cancelled before it swaps in leaves it too.
    EXPECT_THROW(basis::saveFinetunedModel(*d.model, basis::compressionSection(d.result), out, record, job), basis::Cancelled);
    EXPECT_NO_THROW(basis::verifyOutputFolder(out, basis::OutputKind::CompressedModel));
    EXPECT_EQ(basis::readFile(out / "config.json"), config);
}

TEST(Training, BudgetScheduleAndClippingReachTheLoop)
{
    auto o = smallRun("coefficients", 0);
    o.tokens = 1000;   // 2 x 2 x 31 = 124 tokens a step: 9 steps
    EXPECT_EQ(basis::trainSteps(o, 5000), 9);
    o.warmup = 3;
    o.minLr = 1e-3;
    o.clip = 1e-3;
    auto c = compressedMicro(microModel("llama-micro"));
    const auto r = basis::finetuneModel(*c.model, randomIds(5000, 1), {}, o);
    ASSERT_EQ(r.history.size(), 9u);
    EXPECT_EQ(r.tokens, 9 * 124);
    EXPECT_DOUBLE_EQ(r.history[0].lr, o.lr / 3);
    EXPECT_DOUBLE_EQ(r.history[2].lr, o.lr);
    EXPECT_NEAR(r.history[8].lr, o.minLr + 0.5 * (o.lr - o.minLr) * (1 + std::cos(3.14159265358979 * 5 / 6)), 1e-12);
    // With clipping at 1e-3 the step is tiny: the coefficients barely move (a bound on the update of Adam is lr).
    for (const auto& s : r.history)
        EXPECT_GT(s.gradNorm, o.clip);

    expectError([] { auto b = smallRun("all", 1); basis::checkTrainOptions(b); }, {"--train", "all"});
    expectError([] { auto b = smallRun("lora", 1); b.loraRank = 0; basis::checkTrainOptions(b); }, {"--lora-rank"});
    expectError([] { auto b = smallRun("bases", 0); basis::checkTrainOptions(b); }, {"budget"});
    auto d = compressedMicro(microModel("llama-micro"));
    auto bad = smallRun("lora", 1);
    bad.loraTargets = {"qq"};
    expectError([&] { basis::finetuneModel(*d.model, randomIds(500, 1), {}, bad); }, {"--lora-targets", "qq"});
}

TEST(Training, Bfloat16AutocastTrains)
{
    auto c = compressedMicro(microModel("llama-micro"));
    auto o = smallRun("coefficients", 3);
    o.precision = "bfloat16";
    const auto r = basis::finetuneModel(*c.model, randomIds(2000, 1), {}, o);
    auto f = compressedMicro(microModel("llama-micro"));
    o.precision = "float32";
    const auto rf = basis::finetuneModel(*f.model, randomIds(2000, 1), {}, o);
    // The same first loss to bfloat16's precision (8 bits of mantissa), not the same bits.
    EXPECT_NEAR(r.history[0].loss, rf.history[0].loss, 0.05 * rf.history[0].loss);
    EXPECT_NE(r.history[0].loss, rf.history[0].loss);
    EXPECT_EQ(c.model->slot(0, 0).coeff().scalar_type(), at::kFloat);
}

} // namespace
