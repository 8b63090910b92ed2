#pragma once
// The energy kept by any setting, from spectra computed once on the engine thread: cumulative sums of s² per
// (group size, part, group), so a lookup is one array read and the live counts stay live. The singular values
// themselves are kept too, for the Spectra and Heatmaps tabs.
#include "compression_plan.h"
#include "job_results.h"

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace basis::ui {

class EnergyTable {
public:
    void clear() { m_cumulative.clear(); m_values.clear(); }
    void add(const SpectraSummary& spectra);
    bool has(int64_t groupSize) const;
    bool empty() const { return m_cumulative.empty(); }
    std::vector<int64_t> groupSizes() const;   // ascending

    // Singular values (descending) and their normalised cumulative s² (ends at 1); null when not computed.
    const std::vector<double>* singularValues(int64_t groupSize, const std::string& part, int64_t index) const;
    const std::vector<double>* cumulative(int64_t groupSize, const std::string& part, int64_t index) const;

    // Fraction of sum(s²) kept by the first k singular values of group `index` of `part` at `groupSize`.
    std::optional<double> energy(int64_t groupSize, const std::string& part, int64_t index, int64_t k) const;
    // Per compressed part of the plan (plan order), the energy of each group; nullopt when a spectrum is missing.
    std::optional<std::vector<std::vector<double>>> energies(const CompressionPlan& plan) const;

private:
    using Key = std::tuple<int64_t, std::string, int64_t>;
    std::map<Key, std::vector<double>> m_cumulative;   // normalised, ends at 1
    std::map<Key, std::vector<double>> m_values;       // the singular values as computed
};

} // namespace basis::ui
