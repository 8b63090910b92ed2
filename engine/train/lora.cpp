#include "lora.h"

#include "decoder_model.h"
#include "error.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

namespace basis {

struct LoraAdapters::Adapter {
    int64_t layer = 0;
    size_t projection = 0;
    bool onCoefficient = false;   // factorized projection: the adapter reads x B
    at::Tensor basis;             // the slot's B when onCoefficient
    at::Tensor a, b;              // [rows, r], [r, out]
    double scale = 1;
    double dropout = 0;
};

namespace {

std::vector<size_t> targetProjections(const ArchTable& table, const std::vector<std::string>& targets)
{
    if (targets.empty())
        throw Error("--lora-targets: no projection named (e.g. q,v)");
    std::vector<size_t> out;
    for (const std::string& t : targets) {
        const ProjectionSpec* p = table.findPart(t);
        if (!p) {
            std::string names;
            for (const auto& n : table.partNames())
                names += (names.empty() ? "" : ", ") + n;
            throw Error("--lora-targets: unknown projection '" + t + "' (this model has " + names + ")");
        }
        const size_t index = static_cast<size_t>(p - table.projections.data());
        if (std::find(out.begin(), out.end(), index) == out.end())
            out.push_back(index);
    }
    return out;
}

} // namespace

LoraAdapters::LoraAdapters(DecoderModel& model, const TrainOptions& o) : m_model(model), m_training(std::make_shared<bool>(true))
{
    if (model.hostWeights())
        throw Error(model.dir().string() + ": LoRA adapters need every weight on the device; load the model without --weights host");
    const std::vector<size_t> targets = targetProjections(model.table(), o.loraTargets);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(o.seed);
    const double scale = o.loraAlpha / static_cast<double>(o.loraRank);
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (size_t index : targets) {
            LinearSlot& slot = model.slot(l, index);
            auto ad = std::make_shared<Adapter>();
            ad->layer = l;
            ad->projection = index;
            ad->onCoefficient = slot.isFactorized();
            ad->basis = slot.basis();
            ad->scale = scale;
            ad->dropout = o.loraDropout;
            const at::Tensor& ref = slot.isFactorized() ? slot.coeff() : slot.weight();
            const int64_t rows = slot.isFactorized() ? slot.basis().size(1) : slot.inFeatures();
            const double bound = 1.0 / std::sqrt(static_cast<double>(rows));
            auto cpu = at::TensorOptions().dtype(ref.scalar_type());
            ad->a = at::empty({rows, o.loraRank}, cpu).uniform_(-bound, bound, gen).to(ref.device()).requires_grad_(true);
            ad->b = at::zeros({o.loraRank, slot.outFeatures()}, cpu.device(ref.device())).requires_grad_(true);
            const std::shared_ptr<bool> training = m_training;
            const int64_t out = slot.outFeatures();
            slot.setAdapter([ad, training, out](const at::Tensor& x) {
                auto shape = x.sizes().vec();
                at::Tensor rows2 = x.reshape({-1, shape.back()});
                if (ad->dropout > 0 && *training)
                    rows2 = at::dropout(rows2, ad->dropout, true);
                if (ad->onCoefficient)
                    rows2 = at::mm(rows2, ad->basis);
                at::Tensor y = at::mm(at::mm(rows2, ad->a), ad->b).mul(ad->scale);
                shape.back() = out;
                return y.view(shape);
            });
            m_adapters.push_back(ad);
        }
}

LoraAdapters::~LoraAdapters() { detach(); }

std::vector<at::Tensor> LoraAdapters::parameters() const
{
    std::vector<at::Tensor> out;
    for (const auto& ad : m_adapters) {
        out.push_back(ad->a);
        out.push_back(ad->b);
    }
    return out;
}

std::vector<LoraAdapters::Factors> LoraAdapters::factors() const
{
    at::NoGradGuard noGrad;
    std::vector<Factors> out;
    for (const auto& ad : m_adapters) {
        Factors f;
        f.layer = ad->layer;
        f.projection = ad->projection;
        f.down = (ad->onCoefficient ? at::mm(ad->basis, ad->a) : ad->a).detach().clone();
        f.up = ad->b.detach().clone();
        f.scale = ad->scale;
        out.push_back(std::move(f));
    }
    return out;
}

void LoraAdapters::setTraining(bool on) { *m_training = on; }

void LoraAdapters::merge()
{
    at::NoGradGuard noGrad;
    for (const auto& ad : m_adapters) {
        LinearSlot& slot = m_model.slot(ad->layer, ad->projection);
        const at::Tensor delta = at::mm(ad->a, ad->b).mul(ad->scale);   // [rows, out]
        if (ad->onCoefficient)
            slot.coeff().add_(delta.to(slot.coeff().scalar_type()));
        else
            slot.weight().add_((slot.spec().storedInOut ? delta : delta.t()).to(slot.weight().scalar_type()));
    }
    detach();
}

void LoraAdapters::detach()
{
    for (const auto& ad : m_adapters)
        m_model.slot(ad->layer, ad->projection).setAdapter({});
    m_adapters.clear();
}

} // namespace basis
