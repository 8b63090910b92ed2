// Layer weights on the host (DecoderModel::hostWeights, issue 12): each layer's forward reads copies of its tensors
// made on the compute device, so a GPU holds the embeddings, the head and one layer, not the whole model.
#include "decoder_model.h"

#include <ATen/ATen.h>

#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace basis {

// The copies of the last layer paged in, by the host tensor they copy. The host tensor is held beside its copy:
// its TensorImpl, the key, then cannot be freed and reused by a tensor that replaced it (a compression installing
// factors), so a copy is never mistaken for the copy of another tensor.
struct DecoderModel::DevicePages {
    std::mutex mutex;
    std::unordered_map<const void*, std::pair<at::Tensor, at::Tensor>> copies;
};

namespace {

void forEachForwardTensor(LayerWeights& lw, const std::function<at::Tensor(const at::Tensor&)>& fn)
{
    for (at::Tensor* t : {&lw.attnNormW, &lw.attnNormB, &lw.mlpNormW, &lw.mlpNormB})
        if (t->defined())
            *t = fn(*t);
    for (LinearSlot& s : lw.slots)
        s.mapForwardTensors(fn);
}

} // namespace

void DecoderModel::enablePaging()
{
    m_pages = std::make_shared<DevicePages>();
}

LayerWeights DecoderModel::pagedLayer(int64_t l) const
{
    LayerWeights out = m_layers.at(l);
    if (!m_hostWeights)
        return out;
    std::lock_guard<std::mutex> lock(m_pages->mutex);
    // Copies the previous layer holds and this one does not read are dropped before any copy is made, so the
    // device never holds two layers (a caller still computing with them keeps its own references).
    std::unordered_set<const void*> needed;
    forEachForwardTensor(out, [&](const at::Tensor& t) {
        needed.insert(t.unsafeGetTensorImpl());
        return t;
    });
    for (auto it = m_pages->copies.begin(); it != m_pages->copies.end();)
        it = needed.count(it->first) ? std::next(it) : m_pages->copies.erase(it);
    forEachForwardTensor(out, [&](const at::Tensor& t) {
        auto [it, fresh] = m_pages->copies.try_emplace(t.unsafeGetTensorImpl());
        if (fresh)
            it->second = {t, t.to(m_device, t.is_floating_point() ? m_dtype : t.scalar_type(), /*non_blocking=*/false,
                                  /*copy=*/true)};
        return it->second.second;
    });
    return out;
}

} // namespace basis
