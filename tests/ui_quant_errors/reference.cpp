#include "reference.h"

#include "calibration_job.h"
#include "compress.h"
#include "decoder_model.h"
#include "run_options.h"
#include "tokenizer.h"

namespace basis::uitest {

std::map<std::pair<std::string, int64_t>, ReferenceErrors>
referenceQuantErrors(const std::filesystem::path& modelDir, const CalibrateOptions& c, const CompressionSettings& settings)
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
    const CompressionPlan plan = planCompression(model->config(), model->table(), settings, 4);
    const CompressionResult result = compressModel(*model, &stats, plan);
    std::map<std::pair<std::string, int64_t>, ReferenceErrors> out;
    for (const GroupResult& g : result.groups)
        out[{g.part, g.layers.front()}] = {g.iterationErrors, g.bestIteration};
    return out;
}

} // namespace basis::uitest
