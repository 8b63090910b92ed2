#include "spectra.h"

#include "compress.h"
#include "decoder_model.h"
#include "error.h"
#include "safetensors.h"

#include <ATen/ATen.h>

namespace basis {

namespace {

std::string tensorName(int64_t g, const std::string& part, int64_t index)
{
    return "g" + std::to_string(g) + "." + part + ".group_" + std::to_string(index);
}

} // namespace

bool Spectra::has(int64_t groupSize) const
{
    for (const auto& kv : values)
        if (std::get<0>(kv.first) == groupSize)
            return true;
    return false;
}

std::vector<double> Spectra::energyKept(const CompressionPlan& plan) const
{
    std::vector<double> out;
    for (const PartPlan& p : plan.parts) {
        if (!p.compressed)
            continue;
        const int64_t g = p.shared ? plan.settings.groupSize : 1;
        for (size_t i = 0; i < p.groups.size(); ++i) {
            auto it = values.find({g, p.spec->part, static_cast<int64_t>(i)});
            if (it == values.end())
                throw Error("no spectrum for part '" + p.spec->part + "' at group size " + std::to_string(g) +
                            " (compute it with basis-cli calibrate --spectra " + std::to_string(g) + ")");
            out.push_back(basis::energyKept(it->second, p.groups[i].k));
        }
    }
    return out;
}

Spectra computeSpectra(const DecoderModel& model, const CalibrationStats& stats, const std::vector<int64_t>& groupSizes,
                       const JobContext& job)
{
    Spectra s;
    // The parts of fused projections too (Phi-3's q, k, v inside qkv, read off the fused rows): settings may name them.
    std::vector<ProjectionSpec> parts = model.table().projections;
    for (const ProjectionSpec& p : tableWithAllParts(model.config()).projections)
        if (!p.fusedModule.empty() && !model.table().findPart(p.part))
            parts.push_back(p);
    const int64_t total = static_cast<int64_t>(groupSizes.size() * parts.size());
    int64_t done = 0;
    for (int64_t g : groupSizes) {
        if (g < 1 || g > model.layerCount())
            throw Error("spectra: group size " + std::to_string(g) + " is outside 1.." + std::to_string(model.layerCount()));
        for (const ProjectionSpec& spec : parts) {
            job.checkCancelled();
            const auto groups = layerGroups(model.layerCount(), g);
            for (size_t i = 0; i < groups.size(); ++i)
                s.values[{g, spec.part, static_cast<int64_t>(i)}] = groupSpectrum(model, &stats, spec, groups[i], true);
            job.report(++done, total, "spectra " + spec.part + " g=" + std::to_string(g));
        }
    }
    return s;
}

void saveSpectra(const std::filesystem::path& file, const Spectra& spectra)
{
    std::vector<TensorToWrite> list;
    std::vector<at::Tensor> keep;
    for (const auto& [key, t] : spectra.values) {
        at::Tensor c = t.to(at::kDouble).contiguous();
        keep.push_back(c);
        list.push_back({tensorName(std::get<0>(key), std::get<1>(key), std::get<2>(key)), DType::F64, c.sizes().vec(),
                        c.data_ptr(), static_cast<size_t>(c.nbytes())});
    }
    writeSafetensors(file, list, {{"format", "basis-studio-spectra"}});
}

Spectra loadSpectra(const std::filesystem::path& file)
{
    auto f = SafetensorsFile::open(file);
    Spectra s;
    for (const auto& name : f->names()) {
        // g<G>.<part>.group_<i>; parts may contain dots (attn.c_attn).
        const auto first = name.find('.'), last = name.rfind(".group_");
        if (name.empty() || name[0] != 'g' || first == std::string::npos || last == std::string::npos || last <= first)
            throw Error(file.string() + ": unexpected tensor '" + name + "'");
        const TensorView& v = f->tensor(name);
        if (v.dtype != DType::F64 || v.shape.size() != 1)
            throw Error(file.string() + ": tensor '" + name + "' is not a float64 vector");
        s.values[{std::stoll(name.substr(1, first - 1)), name.substr(first + 1, last - first - 1), std::stoll(name.substr(last + 7))}] =
            at::from_blob(const_cast<std::byte*>(v.data), v.shape, at::kDouble).clone();
    }
    return s;
}

} // namespace basis
