#include "calibration_job.h"

#include "atomic_file.h"
#include "datasets.h"
#include "decoder_model.h"
#include "error.h"
#include "tokenizer.h"

namespace basis {

namespace fs = std::filesystem;

CalibrationOutcome calibrateFromText(DecoderModel& model, const Tokenizer& tokenizer, const CalibrationRequest& r,
                                     const JobContext& job)
{
    // A preset is joined as its recipe says (c4: the documents' text fields, not the JSONL lines).
    const std::string text = r.dataset.empty() ? readFile(r.text) : loadDataset(r.dataset, r.dataDir, {"train", 0}).text;
    const std::vector<int64_t> ids = tokenizeForEvaluation(tokenizer, text, r.bos);
    CalibrationOutcome out;
    out.identity.model = modelFingerprint(model.dir());
    out.identity.text = tokensFingerprint(ids);
    out.identity.options = r.options;
    out.identity.bos = bosPolicyName(r.bos);
    if (!r.cacheDir.empty() && !r.force && fs::exists(r.cacheDir / "calibration.json")) {
        out.stats = loadCalibration(r.cacheDir, out.identity);
        out.reused = true;
        return out;
    }
    const auto chunks = calibrationChunks(ids, r.options);
    out.stats = collectStatistics(model, chunks, r.options.batch, job);
    if (!r.cacheDir.empty())
        saveCalibration(r.cacheDir, out.stats, out.identity);
    return out;
}

CalibrationStats loadCalibrationFor(const DecoderModel& model, const fs::path& cacheDir, CalibrationIdentity* found)
{
    CalibrationIdentity expected;
    expected.model = modelFingerprint(model.dir());
    CalibrationStats stats = loadCalibration(cacheDir, expected, found);
    if (static_cast<int64_t>(stats.gram.size()) != model.layerCount())
        throw Error("calibration cache " + cacheDir.string() + " holds " + std::to_string(stats.gram.size()) +
                    " layers, the model has " + std::to_string(model.layerCount()));
    return stats;
}

} // namespace basis
