// basis-cli finetune: heal a compressed (or dense) model by training coefficients, bases or LoRA on a text; a line per
// evaluation on stdout, progress with tokens/s and ETA on stderr, the healed model saved atomically.
#include "cli_progress.h"
#include "commands.h"

#include "workspace.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runFinetune(const FinetuneArgs& a)
{
    Workspace ws;
    const ModelSummary model = ws.load(a.model, a.run, loadJob());
    StderrProgress progress("finetune");
    JobContext job = cliJob(progress);
    const auto onStep = [&](const TrainStep& s) {
        if (s.evalPpl)
            std::printf("step %lld/%lld: loss %.4f, eval PPL %.4f\n", (long long)s.step, (long long)s.steps, s.loss, *s.evalPpl);
    };
    const FinetuneSummary s = ws.finetune(a.finetune, job, onStep);
    progress.finish();
    const TrainResult& r = s.result;
    std::printf("Fine-tuned %s (%s): %lld steps, %lld tokens (%lld a step), %lld trainable parameters, final loss %.4f\n",
                a.model.c_str(), a.finetune.train.train.c_str(), (long long)r.steps, (long long)r.tokens,
                (long long)r.tokensPerStep, (long long)r.trainableParameters, r.finalLoss);
    std::printf("  %.2f s training, %.1f tokens/s (%s, %d threads); parameters %lld before, %lld after\n", r.seconds,
                r.tokensPerSecond, model.device.c_str(), model.threads, (long long)s.parametersBefore, (long long)s.parametersAfter);
    if (r.pplBefore && r.pplAfter)
        std::printf("  eval PPL %.4f -> %.4f (window-mean, context %lld)\n", *r.pplBefore, *r.pplAfter,
                    (long long)a.finetune.train.evalContext);
    else if (r.pplAfter)
        std::printf("  eval PPL after %.4f (window-mean, context %lld)\n", *r.pplAfter, (long long)a.finetune.train.evalContext);
    std::printf("  saved: %s\n", s.out.string().c_str());
    if (!s.peftOut.empty())
        std::printf("  PEFT adapter: %s\n", s.peftOut.string().c_str());
    if (a.json) {
        nlohmann::json curve = nlohmann::json::array();
        for (const TrainStep& st : r.history) {
            nlohmann::json e = {{"step", st.step}, {"tokens", st.tokens}, {"loss", st.loss}, {"lr", st.lr}, {"grad_norm", st.gradNorm}};
            if (st.evalPpl)
                e["eval_ppl"] = *st.evalPpl;
            curve.push_back(e);
        }
        nlohmann::json j = {{"model", a.model}, {"out", s.out.string()}, {"peft_out", s.peftOut.string()}, {"finetune", s.record}, {"history", curve},
                            {"steps", r.steps}, {"tokens", r.tokens}, {"final_loss", r.finalLoss},
                            {"seconds", r.seconds}, {"tokens_per_second", r.tokensPerSecond},
                            {"parameters_before", s.parametersBefore}, {"parameters_after", s.parametersAfter},
                            {"trainable_parameters", r.trainableParameters}, {"compressed", s.compressed},
                            {"resumed_from", r.resumedFrom}, {"threads", model.threads}, {"device", model.device}, {"weights", model.weights}};
        j["ppl_before"] = r.pplBefore ? nlohmann::json(*r.pplBefore) : nlohmann::json();
        j["ppl_after"] = r.pplAfter ? nlohmann::json(*r.pplAfter) : nlohmann::json();
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
