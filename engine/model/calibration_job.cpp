#include "calibration_job.h"

#include "atomic_file.h"
#include "datasets.h"
#include "decoder_model.h"
#include "error.h"
#include "memory_estimate.h"
#include "tokenizer.h"

#include <algorithm>
#include <memory>

namespace basis {

namespace fs = std::filesystem;

namespace {

bool covers(const std::vector<int64_t>& have, const std::vector<int64_t>& want)
{
    for (int64_t g : want)
        if (std::find(have.begin(), have.end(), g) == have.end())
            return false;
    return true;
}

} // namespace

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
    out.identity.statisticsDtype = r.statisticsDtype;

    std::unique_ptr<OutputLock> lock;
    if (!r.cacheDir.empty()) {
        checkOutputFolder(r.cacheDir, OutputKind::CalibrationCache, {model.dir()});   // refuse before the work
        lock = std::make_unique<OutputLock>(r.cacheDir, job.log, [&] { job.checkCancelled(); });
        recoverOutputLeftovers(r.cacheDir, job.log);
        const bool present = fs::exists(r.cacheDir / "calibration.json");
        if (present && !r.force && !isOutputFolderOf(r.cacheDir, OutputKind::CalibrationCache))
            job.note(r.cacheDir.string() + " was written by an older version without a manifest: recalibrating");
        else if (present && !r.force && !hasInputSums(r.cacheDir))
            // Never guess a mean: the feature-space methods need s and N, which this cache lacks.
            job.note(r.cacheDir.string() + " was written before calibration stored the input sums s and token counts "
                     "N per site: recalibrating");
        else if (present && !r.force) {
            out.stats = loadCalibration(r.cacheDir, out.identity);
            out.reused = true;
            if (!covers(cachedSpectraSizes(r.cacheDir), r.spectra)) {
                Spectra spectra = computeSpectra(model, out.stats, r.spectra, job);
                saveCalibration(r.cacheDir, out.stats, out.identity, &spectra, model.dir(), lock.get(), job.log);
                out.spectraWritten = true;
            }
            return out;
        }
    }
    const auto chunks = calibrationChunks(ids, r.options);
    if (r.cacheDir.empty()) {
        out.stats = collectStatistics(model, chunks, r.options.batch, job);
        return out;
    }
    // Into a cache: a layer at a time, each layer's statistics written as soon as it is done (calibration.h).
    LayerwiseCalibration streamed(model, chunks, r.options.batch, job, r.activations, fs::absolute(r.cacheDir).parent_path());
    out.activationsOnDisk = streamed.activationsOnDisk();
    out.activationBytes = streamed.activationBytes();
    if (out.activationsOnDisk)
        job.note("calibration activations: " + formatMemory(out.activationBytes) + " in a scratch file in " +
                 fs::absolute(r.cacheDir).parent_path().string());
    out.stats = calibrateIntoCache(r.cacheDir, streamed, out.identity, model, r.spectra, lock.get(), job);
    out.spectraWritten = !r.spectra.empty();
    return out;
}

CalibrationStats loadCalibrationFor(const DecoderModel& model, const fs::path& cacheDir, CalibrationIdentity* found)
{
    CalibrationIdentity expected;
    expected.model = modelFingerprint(model.dir());
    expected.statisticsDtype.clear();   // a cache given alone may store H in either dtype
    CalibrationStats stats = loadCalibration(cacheDir, expected, found);
    if (static_cast<int64_t>(stats.gram.size()) != model.layerCount())
        throw Error("calibration cache " + cacheDir.string() + " holds " + std::to_string(stats.gram.size()) +
                    " layers, the model has " + std::to_string(model.layerCount()));
    return stats;
}

} // namespace basis
