#include "reference.h"

#include "calibration_job.h"
#include "decoder_model.h"
#include "run_options.h"
#include "tokenizer.h"

#include <ATen/ATen.h>

#include <algorithm>

namespace basis::uitest {

namespace {

std::vector<double> descending(const at::Tensor& symmetric)
{
    const at::Tensor v = at::linalg_eigvalsh(symmetric).contiguous();
    std::vector<double> out(v.data_ptr<double>(), v.data_ptr<double>() + v.numel());
    std::sort(out.begin(), out.end(), std::greater<>());
    for (double& x : out)
        x = std::max(x, 0.0);
    return out;
}

} // namespace

std::map<std::pair<int64_t, std::string>, ReferenceProjection>
referenceFeatureSpace(const std::filesystem::path& modelDir, const CalibrateOptions& c, const std::string& method,
                      double energy, const std::vector<std::string>& parts)
{
    const auto model = DecoderModel::load(modelDir, RunOptions{"cpu", "float32", applyThreads(0)});
    const auto tokenizer = loadTokenizer(modelDir);
    CalibrationRequest r;
    r.text = c.text;
    r.options.samples = c.samples;
    r.options.context = c.context;
    r.options.sampling = parseSampling(c.sampling);
    r.options.seed = c.seed;
    r.options.batch = c.batch;
    r.bos = parseBosPolicy(c.bos);
    const CalibrationStats stats = calibrateFromText(*model, *tokenizer, r).stats;

    std::map<std::pair<int64_t, std::string>, ReferenceProjection> out;
    for (int64_t l = 0; l < model->layerCount(); ++l)
        for (const LinearSlot& slot : model->layer(l).slots) {
            if (std::find(parts.begin(), parts.end(), slot.spec().part) == parts.end())
                continue;
            const at::Tensor w = slot.weightInOut().t().to(at::kDouble);   // m x d
            const auto site = static_cast<size_t>(slot.spec().site);
            at::Tensor s = stats.gram.at(size_t(l))[site].to(at::kDouble);
            if (method == "sfsd") {
                const double n = double(stats.count.at(size_t(l))[site]);
                const at::Tensor mu = stats.sum.at(size_t(l))[site].to(at::kDouble) / n;
                s = s / n - at::outer(mu, mu);
            }
            ReferenceProjection p;
            p.m = w.size(0);
            p.d = w.size(1);
            const at::Tensor y = at::matmul(at::matmul(w, s), w.t());
            p.output = descending((y + y.t()) / 2);
            p.output.resize(size_t(std::min(p.m, p.d)));
            p.input = descending((s + s.t()) / 2);
            double total = 0;
            for (double x : p.output)
                total += x;
            double run = 0;
            for (size_t i = 0; i < p.output.size(); ++i) {
                run += p.output[i];
                if (run / total >= energy) {
                    p.energyRank = int64_t(i) + 1;
                    break;
                }
            }
            out[{l, slot.spec().part}] = std::move(p);
        }
    return out;
}

} // namespace basis::uitest
