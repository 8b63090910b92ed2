#include "energy_table.h"

#include <algorithm>

namespace basis::ui {

void EnergyTable::add(const SpectraSummary& spectra)
{
    for (const auto& [key, s] : spectra.values) {
        std::vector<double> c(s.size());
        double sum = 0;
        for (size_t i = 0; i < s.size(); ++i)
            c[i] = (sum += s[i] * s[i]);
        for (double& v : c)
            v = sum > 0 ? v / sum : 1.0;
        m_cumulative[key] = std::move(c);
        m_values[key] = s;
    }
}

std::vector<int64_t> EnergyTable::groupSizes() const
{
    std::vector<int64_t> out;
    for (const auto& kv : m_cumulative)
        if (out.empty() || out.back() != std::get<0>(kv.first))
            out.push_back(std::get<0>(kv.first));   // keys sort by group size first
    return out;
}

const std::vector<double>* EnergyTable::singularValues(int64_t groupSize, const std::string& part, int64_t index) const
{
    auto it = m_values.find({groupSize, part, index});
    return it == m_values.end() ? nullptr : &it->second;
}

const std::vector<double>* EnergyTable::cumulative(int64_t groupSize, const std::string& part, int64_t index) const
{
    auto it = m_cumulative.find({groupSize, part, index});
    return it == m_cumulative.end() ? nullptr : &it->second;
}

bool EnergyTable::has(int64_t groupSize) const
{
    return std::any_of(m_cumulative.begin(), m_cumulative.end(),
                       [&](const auto& kv) { return std::get<0>(kv.first) == groupSize; });
}

std::optional<double> EnergyTable::energy(int64_t groupSize, const std::string& part, int64_t index, int64_t k) const
{
    auto it = m_cumulative.find({groupSize, part, index});
    if (it == m_cumulative.end() || it->second.empty())
        return std::nullopt;
    if (k <= 0)
        return 0.0;
    return it->second[size_t(std::min<int64_t>(k, int64_t(it->second.size())) - 1)];
}

std::optional<std::vector<std::vector<double>>> EnergyTable::energies(const CompressionPlan& plan) const
{
    std::vector<std::vector<double>> out;
    for (const PartPlan& p : plan.parts) {
        std::vector<double> groups;
        if (p.compressed) {
            // As the engine's Spectra::energyKept: shared parts at the plan's group size, private ones per layer.
            const int64_t g = p.shared ? plan.settings.groupSize : 1;
            for (size_t i = 0; i < p.groups.size(); ++i) {
                const auto e = energy(g, p.spec->part, int64_t(i), p.groups[i].k);
                if (!e)
                    return std::nullopt;
                groups.push_back(*e);
            }
        }
        out.push_back(std::move(groups));
    }
    return out;
}

} // namespace basis::ui
