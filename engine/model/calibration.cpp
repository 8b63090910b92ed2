#include "calibration.h"

#include "decoder_model.h"
#include "error.h"
#include "memory_estimate.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <map>
#include <random>

namespace basis {

std::string samplingName(Sampling s) { return s == Sampling::Sequential ? "sequential" : "random"; }

Sampling parseSampling(const std::string& name)
{
    if (name == "sequential")
        return Sampling::Sequential;
    if (name == "random")
        return Sampling::Random;
    throw Error("unknown sampling '" + name + "' (expected sequential or random)");
}

at::Tensor CalibrationStats::at(int64_t layer, InputSite site) const
{
    const at::Tensor& h = gram.at(layer).at(static_cast<size_t>(site));
    return h.defined() && h.scalar_type() != at::kDouble ? h.to(at::kDouble) : h;
}

at::Tensor CalibrationStats::mean(int64_t layer, InputSite site) const
{
    if (!hasMeans())
        throw Error("the calibration statistics lack the input sums s and token counts N (a cache written before "
                    "they were stored): recalibrate (basis-cli calibrate --force, or calibrate from the text)");
    const at::Tensor& s = sum.at(layer).at(static_cast<size_t>(site));
    const int64_t n = count.at(layer).at(static_cast<size_t>(site));
    if (!s.defined() || n <= 0)
        throw Error("calibration statistics lack the input sums of layer " + std::to_string(layer) + " input " +
                    inputSiteName(site));
    return s / static_cast<double>(n);
}

std::vector<std::vector<int64_t>> calibrationChunks(const std::vector<int64_t>& ids, const CalibrationOptions& o)
{
    const int64_t n = static_cast<int64_t>(ids.size());
    if (o.context < 2)
        throw Error("calibration: context must be at least 2 tokens");
    const int64_t full = n / o.context;
    if (full == 0)
        throw Error("calibration: the text has " + std::to_string(n) + " tokens, fewer than one chunk of " +
                    std::to_string(o.context));
    std::vector<std::vector<int64_t>> chunks;
    if (o.sampling == Sampling::Sequential) {
        const int64_t count = o.samples > 0 ? o.samples : full;
        if (count > full)
            throw Error("calibration: " + std::to_string(count) + " samples asked but the text holds only " +
                        std::to_string(full) + " chunks of " + std::to_string(o.context) + " tokens");
        for (int64_t i = 0; i < count; ++i)
            chunks.emplace_back(ids.begin() + i * o.context, ids.begin() + (i + 1) * o.context);
    } else {
        const int64_t count = o.samples > 0 ? o.samples : full;
        std::mt19937_64 rng(o.seed);
        std::uniform_int_distribution<int64_t> start(0, n - o.context);
        for (int64_t i = 0; i < count; ++i) {
            const int64_t s = start(rng);
            chunks.emplace_back(ids.begin() + s, ids.begin() + s + o.context);
        }
    }
    return chunks;
}

namespace {

// Which input sites some projection reads, and their width (0: none).
std::array<int64_t, kInputSites> projectionSiteWidths(const DecoderModel& model)
{
    std::array<int64_t, kInputSites> width{};
    for (const ProjectionSpec& p : model.table().projections)
        width[static_cast<size_t>(p.site)] = p.in;
    return width;
}

LayerStatistics zeroLayer(const std::array<int64_t, kInputSites>& width)
{
    LayerStatistics l;
    for (size_t s = 0; s < kInputSites; ++s)
        if (width[s] > 0) {
            l.gram[s] = at::zeros({width[s], width[s]}, at::TensorOptions().dtype(at::kDouble));
            l.sum[s] = at::zeros({width[s]}, at::TensorOptions().dtype(at::kDouble));
        }
    return l;
}

// One float32 product buffer per width, reused: a 3072 x 3072 product is 38 MB, above glibc's mmap threshold, and
// allocating it afresh for every batch and layer costs more in page faults than the GEMM.
using ProductBuffers = std::map<int64_t, at::Tensor>;

// Adds one batch's X^T X (in the model dtype's matmul, as float32), sum of x (in float64) and row count to a site's
// statistics. The one accumulation both calibrations use, so that they agree to the last bit.
void accumulate(at::Tensor& gram, at::Tensor& sum, int64_t& count, const at::Tensor& x, ProductBuffers& scratch)
{
    if (!gram.defined())
        return;
    at::Tensor x2 = x.reshape({-1, x.size(-1)}).to(at::kFloat);
    at::Tensor& product = scratch[x2.size(1)];
    if (!product.defined() || product.device() != x2.device())
        product = at::empty({x2.size(1), x2.size(1)}, x2.options());
    at::mm_out(product, x2.t(), x2);
    gram.add_(product.device().is_cpu() ? product : product.cpu());   // float32 batch sum into float64
    // s in float64 from the first addition on: a float32 or bfloat16 running sum of activations loses the mean.
    sum.add_(x.reshape({-1, x.size(-1)}).to(at::kDouble).sum(0).cpu());
    count += x2.size(0);
}

struct ObserverReset {
    DecoderModel& m;
    ~ObserverReset() { m.setInputObserver(nullptr); }
};

at::Tensor batchIds(const std::vector<std::vector<int64_t>>& chunks, int64_t begin, int64_t end)
{
    const int64_t len = static_cast<int64_t>(chunks[begin].size());
    at::Tensor ids = at::empty({end - begin, len}, at::kLong);
    for (int64_t i = begin; i < end; ++i)
        ids[i - begin].copy_(at::tensor(chunks[i], at::kLong));
    return ids;
}

void checkChunks(const std::vector<std::vector<int64_t>>& chunks, int64_t batch)
{
    if (chunks.empty())
        throw Error("calibration: no samples");
    if (batch < 1)
        throw Error("calibration: batch must be at least 1");
}

} // namespace

CalibrationStats collectStatistics(DecoderModel& model, const std::vector<std::vector<int64_t>>& chunks, int64_t batch,
                                   const JobContext& job)
{
    c10::InferenceMode inference;
    checkChunks(chunks, batch);
    const int64_t L = model.layerCount();
    const std::array<int64_t, kInputSites> width = projectionSiteWidths(model);
    CalibrationStats stats;
    stats.gram.resize(L);
    stats.sum.resize(L);
    stats.count.assign(L, {});
    for (int64_t l = 0; l < L; ++l) {
        LayerStatistics z = zeroLayer(width);
        stats.gram[l] = z.gram;
        stats.sum[l] = z.sum;
    }
    ProductBuffers scratch;
    model.setInputObserver([&](int64_t layer, InputSite site, const at::Tensor& x) {
        const size_t s = static_cast<size_t>(site);
        accumulate(stats.gram[layer][s], stats.sum[layer][s], stats.count[layer][s], x, scratch);
    });
    ObserverReset reset{model};

    const int64_t total = static_cast<int64_t>(chunks.size());
    for (int64_t begin = 0; begin < total; begin += batch) {
        job.checkCancelled();
        const int64_t end = std::min(total, begin + batch);
        model.hiddenStates(batchIds(chunks, begin, end));
        stats.tokens += (end - begin) * static_cast<int64_t>(chunks[begin].size());
        stats.samples += end - begin;
        job.report(end, total, "calibration sample " + std::to_string(end) + "/" + std::to_string(total));
    }
    return stats;
}

LayerwiseCalibration::LayerwiseCalibration(DecoderModel& model, const std::vector<std::vector<int64_t>>& chunks,
                                           int64_t batch, const JobContext& job, ActivationPlace place,
                                           const std::filesystem::path& spillFolder)
    : m_model(model), m_job(job), m_widths(projectionSiteWidths(model))
{
    c10::InferenceMode inference;
    checkChunks(chunks, batch);
    const int64_t total = static_cast<int64_t>(chunks.size());
    // The same batches as collectStatistics: each runs through the same operations, layer after layer.
    std::vector<std::vector<int64_t>> shapes;
    for (int64_t begin = 0; begin < total; begin += batch)
        shapes.push_back({std::min(total, begin + batch) - begin, static_cast<int64_t>(chunks[begin].size()), model.config().hidden});
    // Chunks are of one length (calibrationChunks), so the studio's estimate is this store's size.
    const int64_t bytes = calibrationActivationBytes(model.config(), total, static_cast<int64_t>(chunks.front().size()),
                                                     static_cast<int64_t>(c10::elementSize(model.dtype())));
    m_activations = std::make_unique<ActivationStore>(basis::activationsOnDisk(place, bytes, availableMemoryBytes()), spillFolder);
    m_activations->reserve(shapes, model.dtype());
    for (int64_t begin = 0, b = 0; begin < total; begin += batch, ++b) {
        const int64_t end = std::min(total, begin + batch);
        m_activations->put(static_cast<size_t>(b), model.embedTokens(batchIds(chunks, begin, end)));
        m_tokens += (end - begin) * static_cast<int64_t>(chunks[begin].size());
        m_samples += end - begin;
    }
}

LayerwiseCalibration::~LayerwiseCalibration() = default;

int64_t LayerwiseCalibration::layers() const { return m_model.layerCount(); }

LayerStatistics LayerwiseCalibration::next()
{
    c10::InferenceMode inference;
    if (m_next >= layers())
        throw Error("calibration: every layer is done");
    const int64_t layer = m_next;
    LayerStatistics stats = zeroLayer(m_widths);
    ProductBuffers scratch;
    m_model.setInputObserver([&](int64_t l, InputSite site, const at::Tensor& x) {
        if (l != layer)
            return;
        const size_t s = static_cast<size_t>(site);
        accumulate(stats.gram[s], stats.sum[s], stats.count[s], x, scratch);
    });
    ObserverReset reset{m_model};
    const int64_t batches = static_cast<int64_t>(m_activations->size());
    for (int64_t b = 0; b < batches; ++b) {
        m_job.checkCancelled();
        at::Tensor x = m_activations->get(static_cast<size_t>(b));
        if (x.device() != m_model.device())   // read back from disk
            x = x.to(m_model.device());
        m_activations->put(static_cast<size_t>(b), m_model.layerOutput(layer, x));   // the input is no longer needed
        m_job.report(layer * batches + b + 1, layers() * batches,
                     "calibration layer " + std::to_string(layer + 1) + "/" + std::to_string(layers()));
    }
    ++m_next;
    return stats;
}

} // namespace basis
