#pragma once
// Layers x parts of the current setting for a table view: shape, mode, group, k, weights before and after
// (a shared basis split evenly over its group's layers), and the energy kept once a compression has run.
#include "compression_plan.h"
#include "job_results.h"

#include <QAbstractTableModel>

#include <map>
#include <tuple>
#include <vector>

namespace basis::ui {

struct LayerPartRow {
    int64_t layer = 0;
    QString part, module, mode;
    int64_t nIn = 0, nOut = 0;
    int64_t groupFirst = 0, groupLast = 0, groupLayers = 1;
    int64_t nominalGroup = 1;      // g of the formula: a smaller last group keeps the full group's k
    int64_t k = 0;                 // 0 when dense
    int64_t before = 0;            // n_in x n_out
    double after = 0;              // k n_out + n_in k / g, or n_in x n_out when dense
    double energy = -1;            // fraction kept, -1 when unknown
};

class LayersModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Layer, Part, Mode, Shape, Group, K, Before, After, Energy, Columns };
    using QAbstractTableModel::QAbstractTableModel;

    using Energies = std::vector<std::vector<double>>;   // per part (plan order), per group
    // `energies`, when given, are the live energy kept of this setting (from spectra); otherwise the energies of
    // the last compression are shown where its groups and k match.
    void setPlan(const CompressionPlan& plan, const Energies* energies = nullptr);
    // Energies of a finished compression; shown for the groups whose layers and k the current setting shares.
    void setCompression(const CompressionSummary& summary);

    const std::vector<LayerPartRow>& rows() const { return m_rows; }
    // Per layer sums over parts, for the chart.
    std::vector<double> weightsBeforePerLayer() const;
    std::vector<double> weightsAfterPerLayer() const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    void applyCompressionEnergies();
    QString tooltip(const LayerPartRow& row, int column) const;

    std::vector<LayerPartRow> m_rows;
    int64_t m_layers = 0;
    double m_ratio = 0;
    bool m_liveEnergies = false;
    // (part, first layer of the group, k) -> energy kept, from the last compression
    std::map<std::tuple<std::string, int64_t, int64_t>, double> m_energies;
};

} // namespace basis::ui
