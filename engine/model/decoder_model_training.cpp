// DecoderModel's training support, kept apart from the inference code it serves.
#include "decoder_model.h"

#include "error.h"

#include <ATen/ATen.h>

#include <unordered_map>

namespace basis {

void DecoderModel::makeTrainable(c10::ScalarType dtype)
{
    // Training updates the weights it computes with; paged copies (decoder_model_paging.cpp) would be trained and
    // thrown away.
    if (m_hostWeights)
        throw Error(m_dir.string() + ": fine-tuning needs every weight on the device; load the model without --weights host");
    // One copy per TensorImpl, so tensors shared before (tied head, a group's basis) are shared after.
    std::unordered_map<const void*, at::Tensor> copies;
    auto convert = [&](const at::Tensor& t) -> at::Tensor {
        if (!t.defined())
            return t;
        auto it = copies.find(t.unsafeGetTensorImpl());
        if (it != copies.end())
            return it->second;
        // Outside inference mode a clone of an inference tensor is an ordinary one; it also leaves the read-only
        // memory map of a float32 file.
        at::Tensor copy = t.to(dtype).clone().contiguous();
        copies.emplace(t.unsafeGetTensorImpl(), copy);
        return copy;
    };
    for (at::Tensor* t : {&m_embed, &m_positions, &m_finalNormW, &m_finalNormB, &m_lmHead, &m_projectIn, &m_projectOut})
        *t = convert(*t);
    // A quantized slot's Q is integer codes dequantized at load: there is nothing to train in it, and its packed
    // copy (what a save writes) would not follow a trained Q. Refused rather than trained halfway.
    for (const LayerWeights& lw : m_layers)
        for (const LinearSlot& s : lw.slots)
            if (s.isQuantized())
                throw Error(m_dir.string() + ": fine-tuning a quantized model (caldera, rtn, gptq) is not supported");
    for (LayerWeights& lw : m_layers) {
        for (at::Tensor* t : {&lw.attnNormW, &lw.attnNormB, &lw.mlpNormW, &lw.mlpNormB})
            *t = convert(*t);
        for (LinearSlot& s : lw.slots)
            s.mapTensors(convert);
    }
    m_dtype = dtype;
}

} // namespace basis
