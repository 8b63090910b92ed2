#include "decoder_model.h"

#include "blocks.h"
#include "error.h"
#include "output_folder.h"
#include "quantized_io.h"
#include "safetensors.h"
#include "stored_weights.h"
#include "weights.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <map>
#include <unordered_set>

namespace basis {

namespace {

void requireFolder(const std::filesystem::path& dir)
{
    if (std::filesystem::is_directory(dir))
        return;
    if (!dir.empty() && hasOutputLeftovers(dir))
        throw Error(dir.string() + ": not a folder, but a killed save left its copy beside it: run basis-cli recover --out " +
                    dir.string());
    throw Error(dir.string() + ": not a folder (expected a Hugging Face model folder with config.json)");
}

} // namespace

std::unique_ptr<DecoderModel> DecoderModel::load(const std::filesystem::path& dir, const RunOptions& options)
{
    requireFolder(dir);
    std::unique_ptr<DecoderModel> model(new DecoderModel());
    model->m_dir = dir;
    model->m_config = parseModelConfig(dir / "config.json");
    model->m_table = archTable(model->m_config);
    model->m_device = resolveDevice(options.device);
    model->m_dtype = resolveDType(options.dtype);
    model->m_hostWeights = resolveHostWeights(options.weights);
    if (model->m_hostWeights)
        model->enablePaging();
    Checkpoint ckpt = Checkpoint::open(dir);
    model->loadWeights(ckpt);
    return model;
}

void DecoderModel::checkHeaders(const std::filesystem::path& dir)
{
    requireFolder(dir);
    DecoderModel model;
    model.m_dir = dir;
    model.m_config = parseModelConfig(dir / "config.json");
    model.m_table = archTable(model.m_config);
    model.loadWeights(Checkpoint::open(dir), /*headersOnly=*/true);
}

void DecoderModel::loadWeights(const Checkpoint& ckpt, bool headersOnly)
{
    const ModelConfig& c = m_config;
    auto get = [&](const std::string& name, std::vector<int64_t> shape) {
        return loadTensor(ckpt, name, shape, m_device, m_dtype, headersOnly);
    };
    // The big matrices stay in their stored dtype (stored_weights.h); norms, biases and positions are widened.
    auto getStored = [&](const std::string& name, std::vector<int64_t> shape) {
        return loadTensor(ckpt, name, shape, m_device, m_dtype, headersOnly, /*keepStored=*/true);
    };
    // The layers' tensors, on the host with host weights (the embeddings, head and final norm stay on the device).
    const c10::Device layerDevice = weightDevice();
    auto getLayer = [&](const std::string& name, std::vector<int64_t> shape) {
        return loadTensor(ckpt, name, shape, layerDevice, m_dtype, headersOnly);
    };
    auto getLayerStored = [&](const std::string& name, std::vector<int64_t> shape) {
        return loadTensor(ckpt, name, shape, layerDevice, m_dtype, headersOnly, /*keepStored=*/true);
    };
    const int64_t embedDim = c.wordEmbedProjDim;
    m_embed = getStored(m_table.embedTokens, {c.vocabSize, embedDim});
    if (!m_table.embedPositions.empty())
        m_positions = get(m_table.embedPositions, {c.maxPositions + c.positionOffset, c.hidden});
    if (!m_table.projectIn.empty()) {
        m_projectIn = get(m_table.projectIn, {c.hidden, embedDim});
        m_projectOut = get(m_table.projectOut, {embedDim, c.hidden});
    }
    if (!m_table.finalNorm.empty()) {
        m_finalNormW = get(m_table.finalNorm + ".weight", {c.hidden});
        if (m_table.normHasBias)
            m_finalNormB = get(m_table.finalNorm + ".bias", {c.hidden});
    }
    // Tied heads reuse the embedding. Some tied checkpoints (stories260K) also carry a copy; it is ignored.
    m_lmHead = m_table.lmHead.empty() ? m_embed : getStored(m_table.lmHead, {c.vocabSize, embedDim});

    // A compressed folder (config.json has a "compression" section) stores factorized projections as a
    // basis per group, written once, and coefficients per layer.
    struct Factor {
        std::string basis;
        int64_t k = 0;
        int64_t bits = 0;            // > 0: the quantized-lowrank layout (quantized_io.h)
        std::string factorDtype;
    };
    std::map<std::pair<std::string, int64_t>, Factor> factors;   // (part, layer) -> basis tensor and rank
    if (c.raw.contains("compression")) {
        try {
            const auto& parts = c.raw.at("compression").at("parts");
            for (auto it = parts.begin(); it != parts.end(); ++it) {
                if (!m_table.findPart(it.key()))
                    throw Error("unknown part '" + it.key() + "'");
                for (const auto& g : it.value().at("groups"))
                    for (const auto& l : g.at("layers")) {
                        if (g.contains("bits"))
                            factors[{it.key(), l.get<int64_t>()}] = {"", g.at("k").get<int64_t>(), g.at("bits").get<int64_t>(),
                                                                     g.at("factor_dtype").get<std::string>()};
                        else
                            factors[{it.key(), l.get<int64_t>()}] = {g.at("basis").get<std::string>(), g.at("k").get<int64_t>(), 0, {}};
                    }
            }
        } catch (const std::exception& e) {
            throw Error((m_dir / "config.json").string() + ": malformed \"compression\" section: " + e.what());
        }
    }
    std::map<std::string, at::Tensor> bases;   // one tensor per group, shared by its layers' slots

    m_layers.resize(c.layers);
    for (int64_t l = 0; l < c.layers; ++l) {
        LayerWeights& lw = m_layers[l];
        lw.attnNormW = getLayer(m_table.layerTensor(l, m_table.attnNorm + ".weight"), {c.hidden});
        lw.mlpNormW = getLayer(m_table.layerTensor(l, m_table.mlpNorm + ".weight"), {c.hidden});
        if (m_table.normHasBias) {
            lw.attnNormB = getLayer(m_table.layerTensor(l, m_table.attnNorm + ".bias"), {c.hidden});
            lw.mlpNormB = getLayer(m_table.layerTensor(l, m_table.mlpNorm + ".bias"), {c.hidden});
        }
        // A part of a split fused projection is read from its own tensors (a compressed folder) or else as a slice
        // of the fused ones, each fused tensor loaded once per layer so that the parts are views of one storage.
        std::map<std::string, at::Tensor> fusedTensors;
        auto slice = [&](const ProjectionSpec& p, const std::string& param) {
            const std::string own = m_table.layerTensor(l, p.module + "." + param);
            if (p.fusedModule.empty() || ckpt.contains(own))
                return param == "weight" ? getLayerStored(own, p.storedInOut ? std::vector<int64_t>{p.in, p.out} : std::vector<int64_t>{p.out, p.in})
                                         : getLayer(own, {p.out});
            const std::string name = m_table.layerTensor(l, p.fusedModule + "." + param);
            auto f = fusedTensors.find(name);
            if (f == fusedTensors.end()) {
                at::Tensor t = param == "weight" ? getLayerStored(name, p.storedInOut ? std::vector<int64_t>{p.in, p.fusedOut}
                                                                                 : std::vector<int64_t>{p.fusedOut, p.in})
                                                 : getLayer(name, {p.fusedOut});
                f = fusedTensors.emplace(name, t).first;
            }
            const int64_t dim = param == "weight" && p.storedInOut ? 1 : 0;
            return f->second.narrow(dim, p.fusedOffset, p.out);
        };
        for (const ProjectionSpec& p : m_table.projections) {
            at::Tensor b = p.hasBias ? slice(p, "bias") : at::Tensor();
            auto f = factors.find({p.part, l});
            if (f != factors.end()) {
                const Factor& factor = f->second;
                if (factor.bits > 0) {
                    lw.slots.emplace_back(l, p, at::Tensor(), b, m_dtype);
                    lw.slots.back().setQuantized(loadQuantizedWeight(ckpt, m_table.layerTensor(l, p.module), p, factor.bits,
                                                                     factor.k, factor.factorDtype, headersOnly),
                                                 layerDevice, m_dtype);
                    continue;
                }
                auto basis = bases.find(factor.basis);
                if (basis == bases.end())
                    basis = bases.emplace(factor.basis, getLayer(factor.basis, {p.in, factor.k})).first;
                // sfsd gives a factorized projection a bias b' even where the architecture has none.
                const std::string newBias = m_table.layerTensor(l, p.module + ".bias");
                if (!b.defined() && ckpt.contains(newBias))
                    b = getLayer(newBias, {p.out});
                lw.slots.emplace_back(l, p, at::Tensor(), b, m_dtype);
                lw.slots.back().setFactorized(basis->second, getLayer(m_table.layerTensor(l, p.module + ".coeff"), {factor.k, p.out}));
                continue;
            }
            lw.slots.emplace_back(l, p, slice(p, "weight"), b, m_dtype);
        }
    }
}

void DecoderModel::setSplitFused(const std::vector<std::string>& fused)
{
    if (fused == m_config.splitFused)
        return;
    for (const LayerWeights& lw : m_layers)
        for (const LinearSlot& s : lw.slots)
            if (s.isFactorized() || s.isQuantized() || s.hasAdapter())
                throw Error(m_dir.string() + ": a compressed or trained model's fused projections cannot be re-cut");
    ModelConfig config = m_config;
    config.splitFused = fused;
    ArchTable table = archTable(config);
    for (LayerWeights& lw : m_layers) {
        // The whole fused weight of every fused projection, from its slot or by joining its parts' slices.
        std::map<std::string, std::pair<at::Tensor, at::Tensor>> whole;   // module -> weight, bias
        std::map<std::string, std::vector<const LinearSlot*>> pieces;
        for (const LinearSlot& s : lw.slots) {
            if (s.spec().fusedModule.empty())
                whole[s.spec().module] = {s.weight(), s.bias()};
            else
                pieces[s.spec().fusedModule].push_back(&s);
        }
        for (const auto& [module, list] : pieces) {
            std::vector<at::Tensor> w, b;
            for (const LinearSlot* s : list) {
                w.push_back(s->weight());
                if (s->bias().defined())
                    b.push_back(s->bias());
            }
            whole[module] = {at::cat(w, list.front()->spec().storedInOut ? 1 : 0), b.empty() ? at::Tensor() : at::cat(b, 0)};
        }
        std::vector<LinearSlot> slots;
        for (const ProjectionSpec& p : table.projections) {
            if (p.fusedModule.empty()) {
                const auto& [w, b] = whole.at(p.module);
                slots.emplace_back(lw.slots.front().layer(), p, w, b, m_dtype);
                continue;
            }
            const auto& [w, b] = whole.at(p.fusedModule);
            slots.emplace_back(lw.slots.front().layer(), p, w.narrow(p.storedInOut ? 1 : 0, p.fusedOffset, p.out),
                               b.defined() ? b.narrow(0, p.fusedOffset, p.out) : at::Tensor(), m_dtype);
        }
        lw.slots = std::move(slots);
    }
    m_config = std::move(config);
    m_table = std::move(table);
}

void DecoderModel::observe(int64_t l, InputSite site, const at::Tensor& x) const
{
    if (m_observer)
        m_observer(l, site, x);
}

at::Tensor DecoderModel::norm(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) const
{
    if (m_config.norm == NormKind::RMSNorm)
        return m_config.rmsNormUnitOffset ? blocks::rmsNormUnitOffset(x, w, m_config.normEps)
                                          : blocks::rmsNorm(x, w, m_config.normEps);
    return blocks::layerNorm(x, w, b, m_config.normEps);
}

at::Tensor DecoderModel::attention(int64_t l, const LayerWeights& lw, const at::Tensor& x, KVCache* cache, int64_t start,
                                   const at::Tensor& cos, const at::Tensor& sin) const
{
    const ModelConfig& c = m_config;
    const int64_t B = x.size(0), T = x.size(1), D = c.headDim;
    observe(l, InputSite::AttnIn, x);

    at::Tensor q, k, v;
    for (const LinearSlot& s : lw.slots) {
        switch (s.spec().role) {
        case Role::Q: q = s.forward(x); break;
        case Role::K: k = s.forward(x); break;
        case Role::V: v = s.forward(x); break;
        case Role::QKV: {   // rows [q | k | v], k and v with the key/value heads' size (GQA)
            auto parts = s.forward(x).split_with_sizes({c.heads * D, c.kvHeads * D, c.kvHeads * D}, -1);
            q = parts[0], k = parts[1], v = parts[2];
            break;
        }
        default: break;
        }
    }
    q = q.view({B, T, c.heads, D}).transpose(1, 2);
    k = k.view({B, T, c.kvHeads, D}).transpose(1, 2);
    v = v.view({B, T, c.kvHeads, D}).transpose(1, 2);
    if (c.ropeTheta > 0) {
        q = blocks::applyRope(q, cos, sin);
        k = blocks::applyRope(k, cos, sin);
    }
    if (cache) {
        if (cache->keys.size() <= static_cast<size_t>(l)) {
            cache->keys.resize(m_layers.size());
            cache->values.resize(m_layers.size());
        }
        if (cache->keys[l].defined()) {
            k = at::cat({cache->keys[l], k}, 2);
            v = at::cat({cache->values[l], v}, 2);
        }
        cache->keys[l] = k;
        cache->values[l] = v;
    }
    double scale = 1.0;
    if (c.scaleAttnWeights)
        scale /= std::sqrt(static_cast<double>(D));
    if (c.scaleAttnByInverseLayerIdx)
        scale /= static_cast<double>(l + 1);
    at::Tensor ctx = blocks::causalAttention(q.contiguous(), k, v, start, scale, c.slidingWindow, m_fusedAttention);

    observe(l, InputSite::AttnOut, ctx);
    for (const LinearSlot& s : lw.slots)
        if (s.spec().role == Role::O)
            return s.forward(ctx);
    throw Error("internal: layer without an output projection");
}

at::Tensor DecoderModel::mlp(int64_t l, const LayerWeights& lw, const at::Tensor& x) const
{
    observe(l, InputSite::MlpIn, x);
    at::Tensor gate, up, hidden;
    for (const LinearSlot& s : lw.slots) {
        switch (s.spec().role) {
        case Role::Gate: gate = s.forward(x); break;
        case Role::Up: up = s.forward(x); break;
        case Role::GateUp: {   // rows [gate | up]
            auto parts = s.forward(x).chunk(2, -1);
            gate = parts[0], up = parts[1];
            break;
        }
        case Role::FcIn: hidden = blocks::activate(s.forward(x), m_config.activation); break;
        default: break;
        }
    }
    if (gate.defined())
        hidden = blocks::activate(gate, m_config.activation).mul_(up);
    observe(l, InputSite::MlpOut, hidden);
    for (const LinearSlot& s : lw.slots)
        if (s.spec().role == Role::Down || s.spec().role == Role::FcOut)
            return s.forward(hidden);
    throw Error("internal: layer without an MLP output projection");
}

at::Tensor DecoderModel::layerForward(int64_t l, const at::Tensor& x, KVCache* cache, int64_t start,
                                      const at::Tensor& cos, const at::Tensor& sin) const
{
    LayerWeights paged;   // with host weights: this layer's copies on the device, held for this call
    if (m_hostWeights)
        paged = pagedLayer(l);
    const LayerWeights& lw = m_hostWeights ? paged : m_layers[l];
    if (m_config.normBefore) {
        at::Tensor h = x + attention(l, lw, norm(x, lw.attnNormW, lw.attnNormB), cache, start, cos, sin);
        return h + mlp(l, lw, norm(h, lw.mlpNormW, lw.mlpNormB));
    }
    // OPT with do_layer_norm_before=false: norms after each residual sum.
    at::Tensor h = norm(x + attention(l, lw, x, cache, start, cos, sin), lw.attnNormW, lw.attnNormB);
    return norm(h + mlp(l, lw, h), lw.mlpNormW, lw.mlpNormB);
}

at::Tensor DecoderModel::embedTokens(const at::Tensor& idsIn, int64_t start) const
{
    c10::InferenceMode inference(!m_autograd);   // training records autograd
    const ModelConfig& c = m_config;
    if (idsIn.dim() != 2)
        throw Error("forward: expected token ids of shape [batch, tokens]");
    at::Tensor ids = idsIn.to(m_device, at::kLong);
    const int64_t T = ids.size(1);
    if (c.learnedPositions && start + T > c.maxPositions)
        throw Error("sequence of " + std::to_string(start + T) + " positions exceeds the model's " +
                    std::to_string(c.maxPositions) + " learned positions (lower --context)");

    if (ids.numel() > 0) {
        // A tokenizer of another model gives ids past the embedding: say so instead of LibTorch's index error.
        const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
        if (lo < 0 || hi >= m_embed.size(0))
            throw Error(m_dir.string() + ": token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the model's " +
                        std::to_string(m_embed.size(0)) + "-token vocabulary (the tokenizer does not belong to this model)");
    }
    at::Tensor x = widened(at::embedding(m_embed, ids), m_dtype);   // rows widened from a weight kept as stored
    if (c.scaleEmbeddings)   // Gemma: x sqrt(hidden), the factor rounded to the model dtype as transformers does
        x = x * at::scalar_tensor(std::sqrt(static_cast<double>(c.hidden)), x.options());
    if (m_projectIn.defined())
        x = at::linear(x, m_projectIn);
    if (m_positions.defined()) {
        at::Tensor pos = at::arange(start + c.positionOffset, start + c.positionOffset + T,
                                    at::TensorOptions().dtype(at::kLong).device(m_device));
        x = x + at::embedding(m_positions, pos).unsqueeze(0);
    }
    return x;
}

void DecoderModel::positionTables(int64_t start, int64_t tokens, at::Tensor& cos, at::Tensor& sin) const
{
    const ModelConfig& c = m_config;
    if (c.ropeTheta > 0)
        blocks::ropeTables(start, tokens, c.headDim, c.ropeTheta, c.ropeScaling, m_device, m_dtype, cos, sin);
}

at::Tensor DecoderModel::layerOutput(int64_t l, const at::Tensor& x) const
{
    c10::InferenceMode inference(!m_autograd);
    if (l < 0 || l >= layerCount())
        throw Error("layer " + std::to_string(l) + " is outside the model's " + std::to_string(layerCount()) + " layers");
    at::Tensor cos, sin;
    positionTables(0, x.size(1), cos, sin);
    return layerForward(l, x, nullptr, 0, cos, sin);
}

at::Tensor DecoderModel::finalHidden(const at::Tensor& xIn) const
{
    c10::InferenceMode inference(!m_autograd);
    at::Tensor x = xIn;
    if (m_finalNormW.defined())
        x = norm(x, m_finalNormW, m_finalNormB);
    if (m_projectOut.defined())
        x = at::linear(x, m_projectOut);
    return x;
}

at::Tensor DecoderModel::hiddenStates(const at::Tensor& ids, KVCache* cache) const
{
    c10::InferenceMode inference(!m_autograd);   // training records autograd
    const int64_t start = cache ? cache->length : 0;
    at::Tensor x = embedTokens(ids, start);
    at::Tensor cos, sin;
    positionTables(start, x.size(1), cos, sin);
    for (int64_t l = 0; l < m_config.layers; ++l)
        x = layerForward(l, x, cache, start, cos, sin);
    x = finalHidden(x);
    if (cache)
        cache->length = start + x.size(1);
    return x;
}

at::Tensor DecoderModel::logits(const at::Tensor& hidden) const
{
    c10::InferenceMode inference(!m_autograd);   // training records autograd
    return linearStored(hidden, m_lmHead, at::Tensor(), /*inOut=*/false).to(at::kFloat);
}

at::Tensor DecoderModel::forward(const at::Tensor& ids, KVCache* cache, bool lastOnly) const
{
    c10::InferenceMode inference(!m_autograd);   // training records autograd
    at::Tensor h = hiddenStates(ids, cache);
    if (lastOnly)
        h = h.narrow(1, h.size(1) - 1, 1);
    return logits(h);
}

std::vector<std::pair<std::string, at::Tensor>> DecoderModel::otherTensors() const
{
    std::vector<std::pair<std::string, at::Tensor>> out;
    auto add = [&](const std::string& name, const at::Tensor& t) {
        if (t.defined() && !name.empty())
            out.emplace_back(name, t);
    };
    add(m_table.embedTokens, m_embed);
    add(m_table.embedPositions, m_positions);
    add(m_table.projectIn, m_projectIn);
    add(m_table.projectOut, m_projectOut);
    if (!m_table.finalNorm.empty()) {
        add(m_table.finalNorm + ".weight", m_finalNormW);
        add(m_table.finalNorm + ".bias", m_finalNormB);
    }
    add(m_table.lmHead, m_lmHead);
    for (int64_t l = 0; l < layerCount(); ++l) {
        const LayerWeights& lw = m_layers[l];
        add(m_table.layerTensor(l, m_table.attnNorm + ".weight"), lw.attnNormW);
        add(m_table.layerTensor(l, m_table.mlpNorm + ".weight"), lw.mlpNormW);
        if (m_table.normHasBias) {
            add(m_table.layerTensor(l, m_table.attnNorm + ".bias"), lw.attnNormB);
            add(m_table.layerTensor(l, m_table.mlpNorm + ".bias"), lw.mlpNormB);
        }
        for (const LinearSlot& s : lw.slots)
            add(m_table.layerTensor(l, s.spec().module + ".bias"), s.bias());
    }
    return out;
}

int64_t DecoderModel::parameterCount() const
{
    std::unordered_set<const void*> seen;
    int64_t total = 0;
    auto add = [&](const at::Tensor& t) {
        if (t.defined() && seen.insert(t.unsafeGetTensorImpl()).second)
            total += t.numel();
    };
    for (const at::Tensor* t : {&m_embed, &m_positions, &m_finalNormW, &m_finalNormB, &m_lmHead, &m_projectIn, &m_projectOut})
        add(*t);
    for (const LayerWeights& lw : m_layers) {
        for (const at::Tensor* t : {&lw.attnNormW, &lw.attnNormB, &lw.mlpNormW, &lw.mlpNormB})
            add(*t);
        for (const LinearSlot& s : lw.slots) {
            if (s.isQuantized()) {   // Q's m d weights and L R (the dequantized copy is not a parameter of its own)
                total += s.parameterCount() - (s.bias().defined() ? s.bias().numel() : 0);
                add(s.bias());
                continue;
            }
            add(s.weight());
            add(s.bias());
            add(s.basis());
            add(s.coeff());
        }
    }
    return total;
}

} // namespace basis
