#include "finetune.h"

#include "calibration_cache.h"
#include "decoder_model.h"
#include "error.h"
#include "lora.h"
#include "peft_export.h"
#include "perplexity.h"
#include "train_checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/optim/adamw.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <unordered_set>

namespace basis {

namespace {

constexpr double kPi = 3.14159265358979323846;

double since(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Chunk order: a fresh permutation of the chunks per epoch, a function of (seed, epoch) only, so any step's batch
// is known without replaying the run (what an exact resume needs).
class ChunkOrder {
public:
    ChunkOrder(int64_t chunks, uint64_t seed) : m_chunks(chunks), m_seed(seed) {}
    int64_t chunk(int64_t sample)
    {
        const int64_t epoch = sample / m_chunks;
        auto it = m_perms.find(epoch);
        if (it == m_perms.end()) {
            std::vector<int64_t> perm(static_cast<size_t>(m_chunks));
            std::iota(perm.begin(), perm.end(), 0);
            std::mt19937_64 rng(m_seed * 0x9E3779B97F4A7C15ULL + static_cast<uint64_t>(epoch) + 1);
            // Fisher-Yates by hand: std::shuffle's order differs between standard libraries.
            for (size_t i = perm.size(); i > 1; --i)
                std::swap(perm[i - 1], perm[static_cast<size_t>(rng() % i)]);
            if (m_perms.size() > 2)
                m_perms.clear();
            it = m_perms.emplace(epoch, std::move(perm)).first;
        }
        return it->second[static_cast<size_t>(sample % m_chunks)];
    }

private:
    int64_t m_chunks;
    uint64_t m_seed;
    std::map<int64_t, std::vector<int64_t>> m_perms;
};

double learningRate(const TrainOptions& o, int64_t step, int64_t steps)
{
    if (step < o.warmup)
        return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup);
    const double span = static_cast<double>(std::max<int64_t>(1, steps - o.warmup));
    const double progress = std::min(1.0, static_cast<double>(step - o.warmup) / span);
    return o.minLr + 0.5 * (o.lr - o.minLr) * (1.0 + std::cos(kPi * progress));
}

c10::ScalarType trainDType(const std::string& precision)
{
    if (precision == "float32" || precision == "bfloat16")
        return at::kFloat;   // bfloat16: float32 master weights, matmuls autocast
    if (precision == "float64")
        return at::kDouble;
    throw Error("--precision: unknown '" + precision + "' (expected float32, bfloat16 or float64)");
}

// Restores the model's inference state and the autocast switch whatever way training ends.
struct TrainingMode {
    DecoderModel& model;
    bool autocast;
    TrainingMode(DecoderModel& m, bool bf16) : model(m), autocast(bf16) {}
    ~TrainingMode()
    {
        model.setAutograd(false);
        if (autocast) {
            at::autocast::set_cpu_enabled(false);
            at::autocast::clear_cache();
        }
    }
};

std::string etaText(double seconds)
{
    const int64_t s = static_cast<int64_t>(std::llround(std::max(0.0, seconds)));
    return std::to_string(s / 60) + ":" + (s % 60 < 10 ? "0" : "") + std::to_string(s % 60);
}

// The global L2 norm of the gradients, and when it exceeds `clip` (> 0) every gradient scaled by clip / norm.
double clipGradients(const std::vector<at::Tensor>& params, double clip)
{
    at::NoGradGuard noGrad;
    double sq = 0;
    for (const at::Tensor& p : params)
        if (p.grad().defined())
            sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
    const double norm = std::sqrt(sq);
    if (clip > 0 && norm > clip)
        for (const at::Tensor& p : params)
            if (p.grad().defined())
                p.mutable_grad().mul_(clip / (norm + 1e-6));
    return norm;
}

} // namespace

void checkTrainOptions(const TrainOptions& o)
{
    if (o.train != "coefficients" && o.train != "bases" && o.train != "lora")
        throw Error("--train: unknown '" + o.train + "' (expected coefficients, bases or lora)");
    trainDType(o.precision);
    if (o.steps < 0 || o.tokens < 0 || !(o.epochs >= 0))
        throw Error("--steps, --tokens and --epochs must not be negative");
    if (o.steps == 0 && o.tokens == 0 && o.epochs == 0)
        throw Error("fine-tuning needs a budget: --steps N, --tokens N or --epochs E");
    if (o.context < 2)
        throw Error("--context must be at least 2 tokens (got " + std::to_string(o.context) + ")");
    if (o.batch < 1 || o.accumulation < 1)
        throw Error("--batch and --accumulation must be at least 1");
    if (!(o.lr >= 0) || !(o.minLr >= 0) || !std::isfinite(o.lr))
        throw Error("--lr and --min-lr must be finite and not negative");
    if (!(o.beta1 >= 0 && o.beta1 < 1) || !(o.beta2 >= 0 && o.beta2 < 1))
        throw Error("--beta1 and --beta2 must lie in [0, 1)");
    if (!(o.eps > 0) || !(o.weightDecay >= 0) || !(o.clip >= 0))
        throw Error("--eps must be positive, --weight-decay and --clip not negative");
    if (o.warmup < 0 || o.evalEvery < 0 || o.checkpointEvery < 0)
        throw Error("--warmup, --eval-every and --checkpoint-every must not be negative");
    if (o.evalContext < 2)
        throw Error("--eval-context must be at least 2 tokens");
    if (o.train == "lora") {
        if (o.loraRank < 1)
            throw Error("--lora-rank must be at least 1 (got " + std::to_string(o.loraRank) + ")");
        if (!(o.loraAlpha > 0))
            throw Error("--lora-alpha must be positive");
        if (!(o.loraDropout >= 0 && o.loraDropout < 1))
            throw Error("--lora-dropout must lie in [0, 1)");
    }
    if ((o.resume || o.checkpointEvery > 0) && o.checkpoint.empty())
        throw Error("--resume and --checkpoint-every need --checkpoint FILE");
}

int64_t trainSteps(const TrainOptions& o, int64_t textTokens)
{
    const int64_t T = std::min(o.context, textTokens);
    const int64_t perStep = o.batch * o.accumulation * std::max<int64_t>(1, T - 1);
    if (o.steps > 0)
        return o.steps;
    if (o.tokens > 0)
        return (o.tokens + perStep - 1) / perStep;
    const double chunks = static_cast<double>(textTokens / std::max<int64_t>(1, T));
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(o.epochs * chunks / static_cast<double>(o.batch * o.accumulation))));
}

TrainResult finetuneModel(DecoderModel& model, const std::vector<int64_t>& trainIds, const std::vector<int64_t>& evalIds,
                          const TrainOptions& o, const JobContext& job, const TrainStepFn& onStep,
                          PeftAdapterExport* peft)
{
    checkTrainOptions(o);
    if (trainIds.size() < 2)
        throw Error("the training text has " + std::to_string(trainIds.size()) + " tokens; fine-tuning needs at least 2");
    const int64_t T = std::min<int64_t>(o.context, static_cast<int64_t>(trainIds.size()));
    const int64_t chunks = static_cast<int64_t>(trainIds.size()) / T;
    const int64_t steps = trainSteps(o, static_cast<int64_t>(trainIds.size()));
    const int64_t tokensPerStep = o.batch * o.accumulation * (T - 1);

    model.makeTrainable(trainDType(o.precision));
    const int64_t parametersBefore = model.parameterCount();

    // What trains. A tensor shared by several slots (a group's basis) is one parameter, listed once.
    std::vector<at::Tensor> params;
    std::unordered_set<const void*> seen;
    auto add = [&](const at::Tensor& t) {
        if (t.defined() && seen.insert(t.unsafeGetTensorImpl()).second)
            params.push_back(t);
    };
    std::unique_ptr<LoraAdapters> lora;
    if (o.train == "lora") {
        lora = std::make_unique<LoraAdapters>(model, o);
        for (const at::Tensor& t : lora->parameters())
            add(t);
    } else {
        for (int64_t l = 0; l < model.layerCount(); ++l)
            for (const LinearSlot& s : model.layer(l).slots) {
                add(s.isFactorized() ? s.coeff() : s.weight());
                add(s.bias());
                if (o.train == "bases")
                    add(s.basis());
            }
    }
    if (params.empty())
        throw Error("nothing to train for --train " + o.train);
    int64_t trainable = 0;
    for (at::Tensor& p : params) {
        p.requires_grad_(true);
        trainable += p.numel();
    }

    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(o.lr)
                                              .betas({o.beta1, o.beta2})
                                              .eps(o.eps)
                                              .weight_decay(o.weightDecay));

    // What a checkpoint must agree with to be resumed: everything that shapes the trajectory.
    nlohmann::json shapes = nlohmann::json::array();
    for (const at::Tensor& p : params)
        shapes.push_back(p.sizes().vec());
    const nlohmann::json identity = {
        {"train", o.train}, {"lora_rank", o.loraRank}, {"lora_alpha", o.loraAlpha}, {"lora_dropout", o.loraDropout},
        {"lora_targets", o.loraTargets}, {"steps", steps}, {"context", T}, {"batch", o.batch},
        {"accumulation", o.accumulation}, {"lr", o.lr}, {"betas", {o.beta1, o.beta2}}, {"eps", o.eps},
        {"weight_decay", o.weightDecay}, {"warmup", o.warmup}, {"min_lr", o.minLr}, {"clip", o.clip}, {"seed", o.seed},
        {"precision", o.precision}, {"text", tokensFingerprint(trainIds)}, {"model_parameters", parametersBefore},
        {"shapes", shapes}};

    TrainResult result;
    result.tokensPerStep = tokensPerStep;
    result.trainableParameters = trainable;
    result.chunks = chunks;
    // The perplexity before training is measured once, on the untrained model; a resumed run takes it from the
    // checkpoint when that was measured on the same evaluation text and windows.
    const nlohmann::json evalIdentity = {{"text", evalIds.empty() ? std::string() : tokensFingerprint(evalIds)},
                                         {"context", o.evalContext}};
    nlohmann::json extra;
    int64_t start = 0;
    if (o.resume && std::filesystem::exists(o.checkpoint)) {
        start = loadTrainCheckpoint(o.checkpoint, identity, result.history, params, optimizer, &extra);
        result.resumedFrom = start;
        job.note("resumed from " + o.checkpoint.string() + " at step " + std::to_string(start));
    }

    JobContext quiet;   // evaluations: cancel, without their own progress lines
    quiet.cancel = job.cancel;
    PplOptions ppl;
    ppl.context = o.evalContext;
    auto evaluate = [&]() -> std::optional<double> {
        if (evalIds.empty())
            return std::nullopt;
        model.setAutograd(false);
        if (lora)
            lora->setTraining(false);
        const double value = evaluatePerplexity(model, evalIds, ppl, quiet).ppl;
        if (lora)
            lora->setTraining(true);
        return value;
    };
    if (start == 0)
        result.pplBefore = evaluate();
    else if (extra.contains("ppl_before") && extra.value("eval", nlohmann::json()) == evalIdentity)
        result.pplBefore = extra.at("ppl_before").get<double>();
    nlohmann::json checkpointExtra = {{"eval", evalIdentity}};
    if (result.pplBefore)
        checkpointExtra["ppl_before"] = *result.pplBefore;

    const bool bf16 = o.precision == "bfloat16";
    TrainingMode mode(model, bf16);
    ChunkOrder order(chunks, o.seed);
    const at::TensorOptions longs = at::TensorOptions().dtype(at::kLong);
    double trainSeconds = 0;
    int64_t stepsThisRun = 0;
    auto checkpoint = [&](int64_t done) {
        if (!o.checkpoint.empty())
            saveTrainCheckpoint(o.checkpoint, identity, done, result.history, params, optimizer, checkpointExtra);
    };

    for (int64_t step = start; step < steps; ++step) {
        const auto t0 = std::chrono::steady_clock::now();
        const double lr = learningRate(o, step, steps);
        for (auto& group : optimizer.param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
        optimizer.zero_grad();
        double lossSum = 0;
        for (int64_t micro = 0; micro < o.accumulation; ++micro) {
            if (job.cancel && job.cancel->isCancelled()) {
                checkpoint(step);   // the parameters are those after `step` steps: the checkpoint is exact
                job.checkCancelled();
            }
            const int64_t m = step * o.accumulation + micro;
            std::vector<int64_t> rows;
            rows.reserve(static_cast<size_t>(o.batch * T));
            for (int64_t j = 0; j < o.batch; ++j) {
                const int64_t c = order.chunk(m * o.batch + j);
                rows.insert(rows.end(), trainIds.begin() + c * T, trainIds.begin() + (c + 1) * T);
            }
            const at::Tensor ids = at::tensor(rows, longs).view({o.batch, T});
            // Dropout draws from the global generator: seeded per forward pass, so a resumed run draws alike.
            at::manual_seed(o.seed * 1000003ULL + static_cast<uint64_t>(m));
            model.setAutograd(true);
            if (bf16) {
                at::autocast::set_cpu_enabled(true);
                at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
            }
            const at::Tensor logits = model.logits(model.hiddenStates(ids.narrow(1, 0, T - 1)));
            if (bf16) {
                at::autocast::set_cpu_enabled(false);
                at::autocast::clear_cache();
            }
            const at::Tensor logp = at::log_softmax(logits.reshape({-1, logits.size(-1)}).to(params.front().scalar_type()), -1);
            const at::Tensor nll = at::nll_loss(logp, ids.narrow(1, 1, T - 1).reshape({-1}), {}, at::Reduction::Sum);
            const at::Tensor loss = nll / static_cast<double>(tokensPerStep);
            loss.backward();
            model.setAutograd(false);
            lossSum += loss.item<double>();
        }
        const double norm = clipGradients(params, o.clip);
        optimizer.step();
        trainSeconds += since(t0);
        ++stepsThisRun;

        TrainStep s;
        s.step = step + 1;
        s.steps = steps;
        s.tokens = (step + 1) * tokensPerStep;
        s.loss = lossSum;
        s.lr = lr;
        s.gradNorm = norm;
        s.tokensPerSecond = static_cast<double>(stepsThisRun * tokensPerStep) / std::max(1e-9, trainSeconds);
        s.etaSeconds = trainSeconds / static_cast<double>(stepsThisRun) * static_cast<double>(steps - step - 1);
        if (o.evalEvery > 0 && (step + 1) % o.evalEvery == 0 && step + 1 < steps) {
            try {
                s.evalPpl = evaluate();
            } catch (const Cancelled&) {
                result.history.push_back(s);   // the step itself finished: the checkpoint keeps it
                checkpoint(s.step);
                throw;
            }
        }
        result.history.push_back(s);
        if (onStep)
            onStep(s);
        char line[160];
        std::snprintf(line, sizeof line, "step %lld/%lld: loss %.4f, %.0f tok/s, ETA %s", static_cast<long long>(s.step),
                      static_cast<long long>(steps), s.loss, s.tokensPerSecond, etaText(s.etaSeconds).c_str());
        job.report(s.step, steps, line);
        if (o.checkpointEvery > 0 && s.step % o.checkpointEvery == 0)
            checkpoint(s.step);
    }
    for (at::Tensor& p : params) {
        p.mutable_grad().reset();
        p.requires_grad_(false);
    }
    if (lora && peft)
        *peft = peftAdapterExport(model, *lora, o);
    if (lora)
        lora->merge();
    try {
        result.pplAfter = evaluate();
    } catch (const Cancelled&) {
        checkpoint(steps);   // every step is done (the adapters' values are unchanged by the merge)
        throw;
    }
    result.steps = steps;
    result.tokens = steps * tokensPerStep;
    result.finalLoss = result.history.empty() ? 0 : result.history.back().loss;
    result.seconds = trainSeconds;
    result.tokensPerSecond = static_cast<double>(stepsThisRun * tokensPerStep) / std::max(1e-9, trainSeconds);
    return result;
}

} // namespace basis
