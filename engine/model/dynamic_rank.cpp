#include "dynamic_rank.h"

#include "decoder_model.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace basis {

struct DynamicRank::Slot {
    LinearSlot* slot = nullptr;
    size_t projection = 0;
    int64_t K = 0;
    at::Tensor rowEnergy;      // ||C_l[j, :]||^2, [K], the model's dtype
    at::Tensor promptEnergy;   // E_j over the prompt, float64 [K]
    at::Tensor kept;           // prompt-adaptive's S, ascending, int64 on the model's device
    int64_t keptCount = 0;     // |S| (prompt-adaptive) or k_bar (global-static); K = every channel
    at::Tensor basisKept, coeffKept;   // B[:, S], C[S, :] (views when S is a prefix)
    // Counted over the tokens outside the prompt.
    int64_t tokens = 0;
    double sumK = 0, keptEnergy = 0, totalEnergy = 0;
    bool measured = false;
    std::vector<at::Tensor> captureKeep, captureEnergy;
};

namespace {

// The baseline's own ops (linear_slot.cpp), so that a strategy keeping every channel gives the same bits.
at::Tensor fullRank(const LinearSlot& s, const at::Tensor& z)
{
    return s.bias().defined() ? at::addmm(s.bias(), z, s.coeff()) : at::mm(z, s.coeff());
}

at::Tensor partialRank(const LinearSlot& s, const at::Tensor& z, const at::Tensor& coeff)
{
    return s.bias().defined() ? at::addmm(s.bias(), z, coeff) : at::mm(z, coeff);
}

// The smallest leading count of `sortedDesc` (..., K; descending) whose sum reaches tau of the total, >= 1.
at::Tensor thresholdCount(const at::Tensor& sortedDesc, double tau)
{
    const at::Tensor cums = sortedDesc.to(at::kDouble).cumsum(-1);
    const at::Tensor total = cums.narrow(-1, cums.size(-1) - 1, 1);
    // Entries whose running sum is still below tau * total, plus the one that reaches it.
    const at::Tensor below = (cums < total * tau).sum(-1) + 1;
    return below.clamp_max(sortedDesc.size(-1));
}

} // namespace

bool hasFactorizedProjection(const DecoderModel& model)
{
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (const LinearSlot& s : model.layer(l).slots)
            if (s.isFactorized())
                return true;
    return false;
}

DynamicRank::DynamicRank(DecoderModel& model, const RankSettings& settings) : m_model(model), m_settings(settings)
{
    // The hooks read the slots' own B and C, which with host weights stay on the CPU beside the device's copies.
    if (model.hostWeights())
        throw Error(model.dir().string() + ": dynamic rank needs every weight on the device; load the model without --weights host");
    checkRankSettings(settings);
    c10::InferenceMode inference;
    for (int64_t l = 0; l < model.layerCount(); ++l)
        for (size_t p = 0; p < model.layer(l).slots.size(); ++p) {
            LinearSlot& ls = model.slot(l, p);
            if (!ls.isFactorized())
                continue;
            auto s = std::make_unique<Slot>();
            s->slot = &ls;
            s->projection = p;
            s->K = ls.basis().size(1);
            s->rowEnergy = ls.coeff().pow(2).sum(1);
            s->keptCount = s->K;
            if (settings.strategy == RankStrategy::GlobalStatic)
                s->keptCount = rankBudget(settings.budget, s->K);
            s->basisKept = ls.basis().narrow(1, 0, s->keptCount);
            s->coeffKept = ls.coeff().narrow(0, 0, s->keptCount);
            Slot* raw = s.get();
            ls.setFactorHook([this, raw](const at::Tensor& rows) { return forward(*raw, rows); });
            m_slots.push_back(std::move(s));
        }
    if (m_slots.empty())
        throw Error("--rank-strategy needs a factorized model (basis-sharing, svd-llm, svd or a feature-space method): " +
                    model.dir().string() + " has no factorized projection");
}

DynamicRank::~DynamicRank()
{
    for (auto& s : m_slots)
        s->slot->setFactorHook({});
}

void DynamicRank::beginPrompt()
{
    m_prompt = true;
    for (auto& s : m_slots)
        s->promptEnergy = at::zeros({s->K}, at::TensorOptions().dtype(at::kDouble).device(s->slot->basis().device()));
}

void DynamicRank::endPrompt()
{
    c10::InferenceMode inference;
    m_prompt = false;
    if (m_settings.strategy != RankStrategy::PromptAdaptive)
        return;
    for (auto& sp : m_slots) {
        Slot& s = *sp;
        if (!s.promptEnergy.defined())
            throw Error("internal: prompt-adaptive ended a prompt it did not begin");
        const auto [sorted, order] = at::sort(s.promptEnergy, /*stable=*/true, /*dim=*/0, /*descending=*/true);
        const int64_t m = m_settings.budget > 0 ? rankBudget(m_settings.budget, s.K)
                                                : thresholdCount(sorted, m_settings.energy).item<int64_t>();
        s.kept = std::get<0>(at::sort(order.narrow(0, 0, m)));
        s.keptCount = m;
        const LinearSlot& ls = *s.slot;
        const bool prefix = s.kept.equal(at::arange(m, s.kept.options()));
        s.basisKept = prefix ? ls.basis().narrow(1, 0, m) : ls.basis().index_select(1, s.kept).contiguous();
        s.coeffKept = prefix ? ls.coeff().narrow(0, 0, m) : ls.coeff().index_select(0, s.kept).contiguous();
    }
}

void DynamicRank::resetStatistics()
{
    for (auto& s : m_slots) {
        s->tokens = 0;
        s->sumK = s->keptEnergy = s->totalEnergy = 0;
        s->measured = false;
        s->captureKeep.clear();
        s->captureEnergy.clear();
    }
}

at::Tensor DynamicRank::forward(Slot& s, const at::Tensor& rows)
{
    const LinearSlot& ls = *s.slot;
    const RankStrategy strategy = m_settings.strategy;
    if (m_prompt) {   // full rank; prompt-adaptive reads the energies
        const at::Tensor z = at::mm(rows, ls.basis());
        if (strategy == RankStrategy::PromptAdaptive)
            s.promptEnergy += (z.pow(2) * s.rowEnergy).sum(0).to(at::kDouble);
        return fullRank(ls, z);
    }
    const int64_t n = rows.size(0);
    const bool perToken = strategy == RankStrategy::PerToken;
    const bool everything = strategy == RankStrategy::Baseline ||
                            (perToken ? m_settings.budget > 0 && rankBudget(m_settings.budget, s.K) == s.K
                                      : s.keptCount == s.K);
    const bool needZ = perToken || m_measuring || m_capture;   // energies wanted: z in full
    at::Tensor z, energy, keep, y;
    if (needZ || everything)
        z = at::mm(rows, ls.basis());
    if (needZ)
        energy = z.pow(2) * s.rowEnergy;
    if (everything) {
        y = fullRank(ls, z);
        if (needZ)
            keep = at::ones({n, s.K}, at::TensorOptions().dtype(at::kBool).device(z.device()));
    } else if (perToken) {
        const auto [sorted, order] = at::sort(energy, /*stable=*/true, /*dim=*/1, /*descending=*/true);
        const at::Tensor counts = m_settings.budget > 0
                                      ? at::full({n, 1}, rankBudget(m_settings.budget, s.K), order.options())
                                      : thresholdCount(sorted, m_settings.energy).unsqueeze(1);
        const at::Tensor keepSorted = at::arange(s.K, order.options()).unsqueeze(0) < counts;
        keep = at::zeros_like(keepSorted).scatter_(1, order, keepSorted);
        y = fullRank(ls, z * keep.to(z.scalar_type()));
    } else {
        // global-static / prompt-adaptive: only the kept columns; z in full only to measure or capture.
        y = needZ ? partialRank(ls, s.kept.defined() ? z.index_select(1, s.kept) : z.narrow(1, 0, s.keptCount), s.coeffKept)
                  : partialRank(ls, at::mm(rows, s.basisKept), s.coeffKept);
        if (needZ) {
            keep = at::zeros({n, s.K}, at::TensorOptions().dtype(at::kBool).device(z.device()));
            if (s.kept.defined())
                keep.index_fill_(1, s.kept, true);
            else
                keep.narrow(1, 0, s.keptCount).fill_(true);
        }
    }
    s.tokens += n;
    s.sumK += keep.defined() ? keep.sum().item<double>() : static_cast<double>(n * (everything ? s.K : s.keptCount));
    if (needZ) {
        s.keptEnergy += (energy * keep.to(energy.scalar_type())).to(at::kDouble).sum().item<double>();
        s.totalEnergy += energy.to(at::kDouble).sum().item<double>();
        s.measured = true;
    }
    if (m_capture) {
        s.captureKeep.push_back(keep.to(at::kCPU));
        s.captureEnergy.push_back(energy.to(at::kCPU, at::kFloat));
    }
    return y;
}

RankRunStatistics DynamicRank::statistics() const
{
    RankRunStatistics r;
    r.settings = m_settings;
    const bool perToken = m_settings.strategy == RankStrategy::PerToken;
    double shares = 0, energies = 0;
    for (const auto& sp : m_slots) {
        const Slot& s = *sp;
        RankSlotStatistics st;
        st.layer = s.slot->layer();
        st.part = s.slot->spec().part;
        st.rank = s.K;
        st.tokens = s.tokens;
        st.meanK = s.tokens ? s.sumK / static_cast<double>(s.tokens) : static_cast<double>(s.keptCount);
        st.energyMeasured = s.measured;
        st.energyKept = s.measured && s.totalEnergy > 0 ? s.keptEnergy / s.totalEnergy : 1.0;
        const double in = static_cast<double>(s.slot->inFeatures()), out = static_cast<double>(s.slot->outFeatures());
        const double K = static_cast<double>(s.K);
        st.baselineMultiplyAdds = (in + out) * K;
        // per-token computes z in full and shrinks only the C matmul; the others shrink both.
        st.multiplyAdds = perToken ? in * K + st.meanK * out : (in + out) * st.meanK;
        if (m_settings.strategy == RankStrategy::Baseline)
            st.multiplyAdds = st.baselineMultiplyAdds;
        shares += st.meanK / K;
        energies += st.energyKept;
        r.projectionMultiplyAdds += st.multiplyAdds;
        r.baselineProjectionMultiplyAdds += st.baselineMultiplyAdds;
        r.projections.push_back(st);
    }
    r.meanShare = shares / static_cast<double>(m_slots.size());
    r.energyKept = energies / static_cast<double>(m_slots.size());
    for (int64_t l = 0; l < m_model.layerCount(); ++l)   // the dense projections cost the same under every strategy
        for (const LinearSlot& ls : m_model.layer(l).slots)
            if (!ls.isFactorized()) {
                const double macs = static_cast<double>(ls.inFeatures() * ls.outFeatures());
                r.projectionMultiplyAdds += macs;
                r.baselineProjectionMultiplyAdds += macs;
            }
    return r;
}

std::vector<RankMask> DynamicRank::masks() const
{
    std::vector<RankMask> out;
    for (const auto& sp : m_slots) {
        const Slot& s = *sp;
        RankMask m;
        m.layer = s.slot->layer();
        m.part = s.slot->spec().part;
        m.rank = s.K;
        m.keep = s.captureKeep.empty() ? at::zeros({0, s.K}, at::kBool) : at::cat(s.captureKeep, 0);
        m.energy = s.captureEnergy.empty() ? at::zeros({0, s.K}, at::kFloat) : at::cat(s.captureEnergy, 0);
        out.push_back(std::move(m));
    }
    return out;
}

at::Tensor DynamicRank::keptSet(int64_t layer, size_t projection) const
{
    for (const auto& s : m_slots)
        if (s->slot->layer() == layer && s->projection == projection)
            return s->kept.defined() ? s->kept.to(at::kCPU) : at::arange(s->keptCount, at::kLong);
    throw Error("internal: projection " + std::to_string(projection) + " of layer " + std::to_string(layer) +
                " is not factorized");
}

} // namespace basis
