#include "train_checkpoint.h"

#include "atomic_file.h"
#include "error.h"

#include <torch/optim/optimizer.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>

namespace basis {

namespace {

nlohmann::json historyJson(const std::vector<TrainStep>& history)
{
    nlohmann::json h = nlohmann::json::array();
    for (const TrainStep& s : history) {
        nlohmann::json e = {{"step", s.step}, {"steps", s.steps}, {"tokens", s.tokens}, {"loss", s.loss}, {"lr", s.lr},
                            {"grad_norm", s.gradNorm}, {"tokens_per_second", s.tokensPerSecond}};
        if (s.evalPpl)
            e["eval_ppl"] = *s.evalPpl;
        h.push_back(e);
    }
    return h;
}

std::vector<TrainStep> historyFrom(const nlohmann::json& h)
{
    std::vector<TrainStep> out;
    for (const auto& e : h) {
        TrainStep s;
        s.step = e.at("step");
        s.steps = e.at("steps");
        s.tokens = e.at("tokens");
        s.loss = e.at("loss");
        s.lr = e.at("lr");
        s.gradNorm = e.at("grad_norm");
        s.tokensPerSecond = e.at("tokens_per_second");
        if (e.contains("eval_ppl"))
            s.evalPpl = e.at("eval_ppl").get<double>();
        out.push_back(s);
    }
    return out;
}

} // namespace

void saveTrainCheckpoint(const std::filesystem::path& file, const nlohmann::json& identity, int64_t step,
                         const std::vector<TrainStep>& history, const std::vector<at::Tensor>& params,
                         torch::optim::Optimizer& optimizer, const nlohmann::json& extra)
{
    torch::serialize::OutputArchive archive;
    const nlohmann::json meta = {{"format", "basis-studio-train/1"}, {"identity", identity}, {"step", step},
                                 {"history", historyJson(history)}, {"extra", extra}};
    archive.write("meta", c10::IValue(meta.dump()));
    for (size_t i = 0; i < params.size(); ++i)
        archive.write("param_" + std::to_string(i), params[i].detach());
    torch::serialize::OutputArchive opt;
    optimizer.save(opt);
    archive.write("optimizer", opt);
    std::ostringstream bytes;
    archive.save_to(bytes);
    writeFileAtomically(file, bytes.str());
}

int64_t loadTrainCheckpoint(const std::filesystem::path& file, const nlohmann::json& identity,
                            std::vector<TrainStep>& history, const std::vector<at::Tensor>& params,
                            torch::optim::Optimizer& optimizer, nlohmann::json* extra)
{
    torch::serialize::InputArchive archive;
    nlohmann::json meta;
    try {
        archive.load_from(file.string());
        c10::IValue m;
        archive.read("meta", m);
        meta = nlohmann::json::parse(m.toStringRef());
    } catch (const std::exception& e) {
        throw Error(file.string() + ": not a training checkpoint of this program (" + std::string(e.what()).substr(0, 200) + ")");
    }
    const nlohmann::json& saved = meta.at("identity");
    for (auto it = identity.begin(); it != identity.end(); ++it)
        if (!saved.contains(it.key()) || saved.at(it.key()) != it.value())
            throw Error(file.string() + ": the checkpoint was made by another run (" + it.key() + " was " +
                        (saved.contains(it.key()) ? saved.at(it.key()).dump() : std::string("absent")) + ", now " +
                        it.value().dump() + "); remove it or drop --resume");
    at::NoGradGuard noGrad;
    for (size_t i = 0; i < params.size(); ++i) {
        at::Tensor t;
        archive.read("param_" + std::to_string(i), t);
        if (!t.sizes().equals(params[i].sizes()))
            throw Error(file.string() + ": tensor " + std::to_string(i) + " has another shape than the model's");
        params[i].copy_(t);
    }
    torch::serialize::InputArchive opt;
    archive.read("optimizer", opt);
    optimizer.load(opt);
    history = historyFrom(meta.at("history"));
    if (extra)
        *extra = meta.value("extra", nlohmann::json::object());
    return meta.at("step").get<int64_t>();
}

} // namespace basis
