#include "calibration_cache.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "error.h"
#include "safetensors.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace basis {

namespace fs = std::filesystem;

namespace {

// FNV-1a, 64 bit: enough to tell checkpoints and texts apart; not a security measure.
struct Fnv {
    uint64_t h = 1469598103934665603ull;
    void add(const void* data, size_t n)
    {
        const auto* p = static_cast<const unsigned char*>(data);
        for (size_t i = 0; i < n; ++i) {
            h ^= p[i];
            h *= 1099511628211ull;
        }
    }
    void add(const std::string& s) { add(s.data(), s.size()); }
    std::string hex() const
    {
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
        return buf;
    }
};

std::string siteTensorName(int64_t layer, InputSite site)
{
    return "layers." + std::to_string(layer) + "." + inputSiteName(site);
}

nlohmann::json cacheDescription(const CalibrationStats& stats, const CalibrationIdentity& id, const Spectra* spectra)
{
    nlohmann::json meta = id.toJson();
    meta["format"] = stats.hasMeans() ? "basis-studio-calibration/2" : "basis-studio-calibration/1";
    if (stats.hasMeans()) {
        nlohmann::json counts = nlohmann::json::array();
        for (const auto& perSite : stats.count)
            counts.push_back(std::vector<int64_t>(perSite.begin(), perSite.end()));
        meta["site_tokens"] = counts;   // N per layer and input site (inputSiteName order)
    }
    meta["tokens"] = stats.tokens;
    meta["samples_used"] = stats.samples;
    meta["layers"] = stats.gram.size();
    std::vector<int64_t> sizes;
    if (spectra)
        for (const auto& kv : spectra->values)
            if (std::find(sizes.begin(), sizes.end(), std::get<0>(kv.first)) == sizes.end())
                sizes.push_back(std::get<0>(kv.first));
    meta["spectra_group_sizes"] = sizes;
    return meta;
}

// A float64 (or float32) tensor of the statistics file as a read-only view of its memory map (the view keeps the
// file open): the statistics of a 7B model are tens of GB, and as file-backed pages they are read per group and
// can be evicted, where copies would be anonymous memory. Nothing writes into statistics tensors.
at::Tensor mappedTensor(const std::shared_ptr<const SafetensorsFile>& file, const TensorView& v)
{
    const auto type = v.dtype == DType::F32 ? at::kFloat : at::kDouble;
    return at::from_blob(const_cast<std::byte*>(v.data), v.shape, [file](void*) {}, at::TensorOptions().dtype(type));
}

// The stored dtype of H for a cache's statisticsDtype.
DType gramDType(const std::string& name)
{
    if (name == "float64" || name.empty())
        return DType::F64;
    if (name == "float32")
        return DType::F32;
    throw Error("calibration statistics dtype '" + name + "': expected float64 or float32");
}

// The tensors of statistics.safetensors for `layers` layers; with `means`, the ".sum" tensors too.
void readStatistics(const std::shared_ptr<const SafetensorsFile>& file, int64_t layers, bool means, CalibrationStats& stats)
{
    stats.gram.resize(static_cast<size_t>(layers));
    for (int64_t l = 0; l < layers; ++l)
        for (size_t s = 0; s < kInputSites; ++s) {
            const std::string name = siteTensorName(l, static_cast<InputSite>(s));
            if (!file->contains(name))
                continue;
            const TensorView& v = file->tensor(name);
            if ((v.dtype != DType::F64 && v.dtype != DType::F32) || v.shape.size() != 2 || v.shape[0] != v.shape[1])
                throw Error(file->path().string() + ": tensor '" + name + "' is not a square float64 or float32 matrix");
            stats.gram[l][s] = mappedTensor(file, v);
            if (!means)
                continue;
            if (!file->contains(name + ".sum"))
                throw Error(file->path().string() + ": tensor '" + name + ".sum' is missing (the description lists sums)");
            const TensorView& sv = file->tensor(name + ".sum");
            if (sv.dtype != DType::F64 || sv.shape != std::vector<int64_t>{v.shape[0]})
                throw Error(file->path().string() + ": tensor '" + name + ".sum' is not a float64 vector of " +
                            std::to_string(v.shape[0]));
            stats.sum[l][s] = mappedTensor(file, sv);
        }
}

} // namespace

std::string modelFingerprint(const fs::path& dir)
{
    Fnv f;
    f.add(readFile(dir / "config.json"));
    const Checkpoint ckpt = Checkpoint::open(dir);
    constexpr size_t kSample = 64 * 1024;
    for (const auto& name : ckpt.names()) {
        const TensorView& v = ckpt.tensor(name);
        f.add(name);
        f.add(dtypeName(v.dtype));
        f.add(v.shape.data(), v.shape.size() * sizeof(int64_t));
        f.add(v.data, std::min(v.bytes, kSample));
        if (v.bytes > kSample)
            f.add(v.data + v.bytes - kSample, kSample);
    }
    return f.hex();
}

std::string tokensFingerprint(const std::vector<int64_t>& ids)
{
    Fnv f;
    f.add(ids.data(), ids.size() * sizeof(int64_t));
    return f.hex() + "/" + std::to_string(ids.size());
}

nlohmann::json CalibrationIdentity::toJson() const
{
    return {{"model_fingerprint", model},        {"text_fingerprint", text},
            {"context", options.context},        {"samples", options.samples},
            {"sampling", samplingName(options.sampling)}, {"seed", options.seed},
            {"bos", bos},                      {"statistics_dtype", statisticsDtype.empty() ? "float64" : statisticsDtype}};
}

void saveCalibration(const fs::path& dir, const CalibrationStats& stats, const CalibrationIdentity& id,
                     const Spectra* spectra, const fs::path& modelDir, const OutputLock* held, const LogFn& log)
{
    std::vector<TensorToWrite> tensors;
    std::vector<at::Tensor> keep;
    const DType gramType = gramDType(id.statisticsDtype);
    for (int64_t l = 0; l < static_cast<int64_t>(stats.gram.size()); ++l)
        for (size_t s = 0; s < kInputSites; ++s) {
            const at::Tensor& g = stats.gram[l][s];
            if (!g.defined())
                continue;
            at::Tensor c = g.to(at::kCPU, gramType == DType::F32 ? at::kFloat : at::kDouble).contiguous();
            keep.push_back(c);
            tensors.push_back({siteTensorName(l, static_cast<InputSite>(s)), gramType, c.sizes().vec(), c.data_ptr(),
                               static_cast<size_t>(c.nbytes())});
            if (!stats.hasMeans())
                continue;
            at::Tensor sum = stats.sum.at(l)[s].to(at::kCPU, at::kDouble).contiguous();
            keep.push_back(sum);
            tensors.push_back({siteTensorName(l, static_cast<InputSite>(s)) + ".sum", DType::F64, sum.sizes().vec(),
                               sum.data_ptr(), static_cast<size_t>(sum.nbytes())});
        }
    const nlohmann::json meta = cacheDescription(stats, id, spectra);
    writeOutputFolder(dir, OutputKind::CalibrationCache, {modelDir}, [&](const fs::path& tmp) {
        writeSafetensors(tmp / "statistics.safetensors", tensors, {{"format", "basis-studio-calibration"}});
        if (spectra && !spectra->values.empty())
            saveSpectra(tmp / "spectra.safetensors", *spectra);
        writeFileAtomically(tmp / "calibration.json", meta.dump(2) + "\n");
    }, {}, log, held);
}

CalibrationStats calibrateIntoCache(const fs::path& dir, LayerwiseCalibration& calibration, const CalibrationIdentity& id,
                                    const DecoderModel& model, const std::vector<int64_t>& spectraSizes,
                                    const OutputLock* held, const JobContext& job)
{
    if (calibration.nextLayer() != 0)
        throw Error("calibration: a streamed cache starts at layer 0");
    const int64_t layers = calibration.layers();
    const auto& width = calibration.siteWidths();
    // The header first (every shape is known), then each layer's tensors as soon as that layer is calibrated.
    std::vector<TensorToWrite> tensors;
    struct Origin {
        int64_t layer;
        size_t site;
        bool sum;   // s, else H
    };
    std::vector<Origin> origin;
    const DType gramType = gramDType(id.statisticsDtype);
    const size_t gramBytes = gramType == DType::F32 ? sizeof(float) : sizeof(double);
    for (int64_t l = 0; l < layers; ++l)
        for (size_t s = 0; s < kInputSites; ++s) {
            if (width[s] <= 0)
                continue;
            const std::string name = siteTensorName(l, static_cast<InputSite>(s));
            const size_t w = static_cast<size_t>(width[s]);
            tensors.push_back({name, gramType, {width[s], width[s]}, nullptr, w * w * gramBytes});
            tensors.push_back({name + ".sum", DType::F64, {width[s]}, nullptr, w * sizeof(double)});
            origin.push_back({l, s, false});
            origin.push_back({l, s, true});
        }
    std::vector<std::array<int64_t, kInputSites>> counts(static_cast<size_t>(layers));   // N per layer and site
    LayerStatistics current;
    int64_t currentLayer = -1;
    CalibrationStats stats;
    writeOutputFolder(dir, OutputKind::CalibrationCache, {model.dir()}, [&](const fs::path& tmp) {
        const fs::path file = tmp / "statistics.safetensors";
        writeSafetensorsStreamed(file, tensors, [&](size_t i, const TensorBytesSink& write) {
            const Origin& o = origin[i];
            const int64_t layer = o.layer;
            if (layer != currentLayer) {
                current = LayerStatistics{};      // the previous layer's statistics go before the next one's come
                current = calibration.next();
                currentLayer = layer;
                counts[static_cast<size_t>(layer)] = current.count;
            }
            const at::Tensor t = o.sum || gramType == DType::F64 ? (o.sum ? current.sum[o.site] : current.gram[o.site]).contiguous()
                                                                  : current.gram[o.site].to(at::kFloat).contiguous();
            write(t.data_ptr(), static_cast<size_t>(t.nbytes()));
        }, {{"format", "basis-studio-calibration"}});
        while (calibration.nextLayer() < layers)   // layers without a projection input write nothing
            counts[static_cast<size_t>(calibration.nextLayer())] = calibration.next().count;
        current = LayerStatistics{};
        // The tensors are read back from the written file; the numbers come from the calibration.
        stats.tokens = calibration.tokens();
        stats.samples = calibration.samples();
        stats.sum.resize(static_cast<size_t>(layers));
        stats.count = counts;
        readStatistics(SafetensorsFile::open(file), layers, /*means=*/true, stats);
        Spectra spectra;
        if (!spectraSizes.empty()) {
            spectra = computeSpectra(model, stats, spectraSizes, job);
            saveSpectra(tmp / "spectra.safetensors", spectra);
        }
        writeFileAtomically(tmp / "calibration.json", cacheDescription(stats, id, &spectra).dump(2) + "\n");
    }, {}, job.log, held);
    return stats;
}

CalibrationIdentity readCalibrationIdentity(const fs::path& dir)
{
    const fs::path file = dir / "calibration.json";
    if (!fs::exists(file))
        throw Error(dir.string() + ": not a calibration cache (no calibration.json; make one with basis-cli calibrate)");
    nlohmann::json j;
    try {
        j = readJsonFile(file);
        CalibrationIdentity id;
        id.model = j.at("model_fingerprint").get<std::string>();
        id.text = j.at("text_fingerprint").get<std::string>();
        id.options.context = j.at("context").get<int64_t>();
        id.options.samples = j.at("samples").get<int64_t>();
        id.options.sampling = parseSampling(j.at("sampling").get<std::string>());
        id.options.seed = j.at("seed").get<uint64_t>();
        id.bos = j.at("bos").get<std::string>();
        id.statisticsDtype = j.value("statistics_dtype", std::string("float64"));   // caches before the option: float64
        gramDType(id.statisticsDtype);
        return id;
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {
        throw Error(file.string() + ": malformed calibration description: " + e.what());
    }
}

bool hasInputSums(const fs::path& dir)
{
    const nlohmann::json meta = readJsonFile(dir / "calibration.json");
    return meta.is_object() && meta.contains("site_tokens");
}

std::vector<int64_t> cachedSpectraSizes(const fs::path& dir)
{
    const nlohmann::json meta = readJsonFile(dir / "calibration.json");
    std::vector<int64_t> out;
    if (meta.is_object() && meta.contains("spectra_group_sizes") && meta["spectra_group_sizes"].is_array())
        for (const auto& g : meta["spectra_group_sizes"])
            if (g.is_number_integer())
                out.push_back(g.get<int64_t>());
    return out;
}

Spectra loadCachedSpectra(const fs::path& dir)
{
    verifyOutputFolder(dir, OutputKind::CalibrationCache);
    if (!fs::exists(dir / "spectra.safetensors"))
        throw Error(dir.string() + ": the calibration cache stores no spectra (basis-cli calibrate --spectra 1,2 --force)");
    return loadSpectra(dir / "spectra.safetensors");
}

CalibrationStats loadCalibration(const fs::path& dir, const CalibrationIdentity& expected, CalibrationIdentity* found)
{
    const CalibrationIdentity id = readCalibrationIdentity(dir);
    try {
        verifyOutputFolder(dir, OutputKind::CalibrationCache);
    } catch (const Error& e) {
        throw Error("calibration cache " + std::string(e.what()) +
                    "; recalibrate (basis-cli calibrate --force, or build_calib: true)");
    }
    auto check = [&](const char* field, const std::string& want, const std::string& have) {
        if (!want.empty() && want != have)
            throw Error("calibration cache " + dir.string() + " does not match: " + field + " is " + have +
                        " in the cache but " + want + " now (recalibrate, or use another --calib folder)");
    };
    check("model fingerprint (another model or changed weights)", expected.model, id.model);
    check("calibration text fingerprint", expected.text, id.text);
    if (!expected.text.empty()) {
        check("context", std::to_string(expected.options.context), std::to_string(id.options.context));
        check("samples", std::to_string(expected.options.samples), std::to_string(id.options.samples));
        check("sampling", samplingName(expected.options.sampling), samplingName(id.options.sampling));
        check("seed", std::to_string(expected.options.seed), std::to_string(id.options.seed));
        check("BOS policy", expected.bos, id.bos);
    }
    check("statistics dtype", expected.statisticsDtype, id.statisticsDtype);
    if (found)
        *found = id;

    auto file = SafetensorsFile::open(dir / "statistics.safetensors");
    const nlohmann::json meta = readJsonFile(dir / "calibration.json");
    int64_t layers = 0;
    CalibrationStats stats;
    try {
        layers = meta.value("layers", int64_t{0});
        stats.tokens = meta.value("tokens", int64_t{0});
        stats.samples = meta.value("samples_used", int64_t{0});
    } catch (const nlohmann::json::exception&) {
        throw Error((dir / "calibration.json").string() + ": 'layers', 'tokens' and 'samples_used' must be integers");
    }
    if (layers < 0 || layers > 100000)
        throw Error((dir / "calibration.json").string() + ": 'layers' = " + std::to_string(layers) + " is not a layer count");
    // Format 2 adds s (".sum" tensors) and N ("site_tokens"); a format-1 cache loads without them (hasMeans false).
    const bool means = meta.contains("site_tokens");
    if (means) {
        try {
            const auto counts = meta.at("site_tokens").get<std::vector<std::vector<int64_t>>>();
            if (static_cast<int64_t>(counts.size()) != layers)
                throw Error("one entry per layer expected");
            stats.sum.resize(static_cast<size_t>(layers));
            stats.count.resize(static_cast<size_t>(layers));
            for (int64_t l = 0; l < layers; ++l) {
                if (counts[l].size() != kInputSites)
                    throw Error("one count per input site expected");
                for (size_t s = 0; s < kInputSites; ++s)
                    stats.count[l][s] = counts[l][s];
            }
        } catch (const std::exception& e) {
            throw Error((dir / "calibration.json").string() + ": malformed 'site_tokens': " + e.what());
        }
    }
    readStatistics(file, layers, means, stats);
    return stats;
}

} // namespace basis
