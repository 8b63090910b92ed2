#pragma once
// Singular values of S W_G for every part and group at chosen group sizes, computed from the weights and the
// calibration statistics alone, stored beside the calibration cache (spectra.safetensors) so that "energy kept
// at ratio r and group size g" is answered without compressing anything.
#include "calibration.h"
#include "compression_plan.h"

#include <filesystem>
#include <map>
#include <string>

namespace basis {

class DecoderModel;

struct Spectra {
    // (group size, part, group index) -> singular values (float64, descending)
    std::map<std::tuple<int64_t, std::string, int64_t>, at::Tensor> values;
    bool has(int64_t groupSize) const;
    // Energy kept by each group of a plan (rows in plan order); throws when its group size was not computed.
    std::vector<double> energyKept(const CompressionPlan& plan) const;
};

// Shared-style groups of `groupSize` layers for every part (private parts use groupSize 1 in a plan).
Spectra computeSpectra(const DecoderModel& model, const CalibrationStats& stats, const std::vector<int64_t>& groupSizes,
                       const JobContext& job = {});
void saveSpectra(const std::filesystem::path& file, const Spectra& spectra);
Spectra loadSpectra(const std::filesystem::path& file);

} // namespace basis
