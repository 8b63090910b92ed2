#include "channel_order.h"

#include "decoder_model.h"
#include "error.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

namespace basis {

namespace {

size_t projectionOf(const DecoderModel& model, const std::string& part)
{
    const auto& projections = model.table().projections;
    for (size_t i = 0; i < projections.size(); ++i)
        if (projections[i].part == part)
            return i;
    throw Error("internal: unknown part " + part);
}

// mean_t e_tj of one layer: diag(B^T H B)_j ||C_j||^2 / N, float64 [K].
at::Tensor layerImportance(const at::Tensor& basis, const at::Tensor& coeff, int64_t layer, InputSite site,
                           const CalibrationStats* stats)
{
    const at::Tensor b = basis.to(at::kCPU, at::kDouble);
    const at::Tensor c = coeff.to(at::kCPU, at::kDouble);
    const at::Tensor rowNorms = c.pow(2).sum(1);
    if (!stats)
        return b.pow(2).sum(0) * rowNorms;
    const at::Tensor& h = stats->at(layer, site);
    if (!h.defined())
        throw Error("channel order: the calibration statistics lack layer " + std::to_string(layer) + " input " +
                    inputSiteName(site));
    int64_t n = stats->tokens;
    if (!stats->count.empty())
        n = stats->count.at(static_cast<size_t>(layer)).at(static_cast<size_t>(site));
    const at::Tensor diag = (at::matmul(h.to(at::kDouble), b) * b).sum(0);   // (B^T H B)_jj
    return diag * rowNorms / static_cast<double>(std::max<int64_t>(n, 1));
}

} // namespace

void orderChannelsByImportance(DecoderModel& model, const CalibrationStats* stats, CompressionResult& result)
{
    c10::InferenceMode inference;
    for (GroupResult& g : result.groups) {
        const size_t p = projectionOf(model, g.part);
        std::vector<LinearSlot*> slots;
        for (int64_t l : g.layers)
            slots.push_back(&model.slot(l, p));
        if (slots.empty() || !slots.front()->isFactorized())
            continue;
        const at::Tensor basis = slots.front()->basis();
        bool shared = true;
        for (const LinearSlot* s : slots)
            shared = shared && s->isFactorized() && s->basis().is_same(basis);
        if (!shared && slots.size() > 1)
            throw Error("internal: channel order of group " + g.part + " whose layers neither share one basis nor are one");
        at::Tensor newBasis = basis;
        std::vector<at::Tensor> coeffs;
        for (const LinearSlot* s : slots)
            coeffs.push_back(s->coeff());
        orderGroupChannels(newBasis, coeffs, slots.front()->spec().site, stats, g);
        for (size_t i = 0; i < slots.size(); ++i)
            slots[i]->setFactorized(newBasis, coeffs[i]);
    }
}

void orderGroupChannels(at::Tensor& basis, std::vector<at::Tensor>& coeffs, InputSite site, const CalibrationStats* stats,
                        GroupResult& g)
{
    c10::InferenceMode inference;
    if (coeffs.size() != g.layers.size())
        throw Error("internal: channel order of group " + g.part + " with " + std::to_string(coeffs.size()) +
                    " coefficient matrices for " + std::to_string(g.layers.size()) + " layers");
    at::Tensor importance = at::zeros({basis.size(1)}, at::TensorOptions().dtype(at::kDouble));
    for (size_t i = 0; i < coeffs.size(); ++i)
        importance += layerImportance(basis, coeffs[i], g.layers[i], site, stats);
    importance /= static_cast<double>(coeffs.size());
    const at::Tensor perm = std::get<1>(at::sort(importance, /*stable=*/true, /*dim=*/0, /*descending=*/true));
    const at::Tensor permDevice = perm.to(basis.device());
    basis = basis.index_select(1, permDevice).contiguous();
    for (at::Tensor& c : coeffs)
        c = c.index_select(0, permDevice).contiguous();

    const at::Tensor sorted = importance.index_select(0, perm).contiguous();
    g.channelImportance.assign(sorted.data_ptr<double>(), sorted.data_ptr<double>() + sorted.numel());
    std::vector<int64_t> order(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + perm.numel());
    if (!g.channelOrder.empty())   // compose: stored channel i was channel order[i] of the last ordering
        for (int64_t& o : order)
            o = g.channelOrder.at(static_cast<size_t>(o));
    g.channelOrder = std::move(order);
    g.channelImportanceSource = stats ? "calibration" : "weights";
}

} // namespace basis
