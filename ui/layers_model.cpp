#include "layers_model.h"

#include "plan_text.h"

namespace basis::ui {

void LayersModel::setPlan(const CompressionPlan& plan, const Energies* energies)
{
    beginResetModel();
    m_rows.clear();
    m_ratio = plan.settings.ratio;
    m_layers = 0;
    for (const PartPlan& p : plan.parts)
        for (const GroupPlan& g : p.groups)
            for (int64_t l : g.layers)
                m_layers = std::max(m_layers, l + 1);
    for (const PartPlan& p : plan.parts)
        if (!p.compressed)
            m_layers = std::max(m_layers, p.weightsBefore / std::max<int64_t>(1, p.spec->in * p.spec->out));
    m_liveEnergies = energies != nullptr;
    // Rows by layer, then in the architecture's part order.
    for (int64_t layer = 0; layer < m_layers; ++layer) {
        for (size_t pi = 0; pi < plan.parts.size(); ++pi) {
            const PartPlan& p = plan.parts[pi];
            LayerPartRow r;
            r.layer = layer;
            r.part = QString::fromStdString(p.spec->part);
            r.module = QString::fromStdString(p.spec->module);
            r.nIn = p.spec->in;
            r.nOut = p.spec->out;
            r.before = r.nIn * r.nOut;
            r.mode = !p.compressed ? tr("dense") : p.shared ? tr("shared") : tr("private");
            r.after = double(r.before);
            r.groupFirst = r.groupLast = layer;
            for (size_t gi = 0; gi < p.groups.size(); ++gi) {
                const GroupPlan& g = p.groups[gi];
                if (std::find(g.layers.begin(), g.layers.end(), layer) == g.layers.end())
                    continue;
                if (energies && pi < energies->size() && gi < (*energies)[pi].size())
                    r.energy = (*energies)[pi][gi];
                r.groupFirst = g.layers.front();
                r.groupLast = g.layers.back();
                r.groupLayers = int64_t(g.layers.size());
                r.k = g.k;
                r.nominalGroup = int64_t(p.groups.front().layers.size());
                r.after = double(g.k * r.nOut) + double(r.nIn * g.k) / double(r.groupLayers);
            }
            m_rows.push_back(r);
        }
    }
    if (!m_liveEnergies)
        applyCompressionEnergies();
    endResetModel();
}

void LayersModel::setCompression(const CompressionSummary& summary)
{
    m_energies.clear();
    for (const GroupSummary& g : summary.groups)
        if (!g.layers.empty())
            m_energies[{g.part, g.layers.front(), g.k}] = g.energy;
    if (m_liveEnergies)
        return;   // the live energies of the current setting already show
    applyCompressionEnergies();
    if (!m_rows.empty())
        emit dataChanged(index(0, Energy), index(rowCount() - 1, Energy));
}

void LayersModel::applyCompressionEnergies()
{
    for (LayerPartRow& r : m_rows) {
        auto it = m_energies.find({r.part.toStdString(), r.groupFirst, r.k});
        r.energy = it != m_energies.end() && r.k > 0 ? it->second : -1;
    }
}

std::vector<double> LayersModel::weightsBeforePerLayer() const
{
    std::vector<double> v(size_t(m_layers), 0.0);
    for (const LayerPartRow& r : m_rows)
        v[size_t(r.layer)] += double(r.before);
    return v;
}

std::vector<double> LayersModel::weightsAfterPerLayer() const
{
    std::vector<double> v(size_t(m_layers), 0.0);
    for (const LayerPartRow& r : m_rows)
        v[size_t(r.layer)] += r.after;
    return v;
}

int LayersModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(m_rows.size()); }

int LayersModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : Columns; }

QVariant LayersModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal)
        return {};
    static const char* const names[] = {"Layer", "Part", "Mode", "Shape", "Group", "k", "Weights before",
                                        "Weights after", "Energy kept"};
    if (role == Qt::DisplayRole)
        return tr(names[section]);
    if (role == Qt::ToolTipRole) {
        switch (section) {
        case K: return tr("Rank kept by the layer's group: floor((1 − r/100) · n_in · n_out · g / (n_in + g · n_out)).");
        case After: return tr("k · n_out coefficients plus this layer's share of the group's n_in × k basis.");
        case Energy: return tr("Fraction of Σs² of the group's whitened weights kept by the first k singular values; "
                               "known once the model is calibrated.");
        default: return {};
        }
    }
    return {};
}

QString LayersModel::tooltip(const LayerPartRow& r, int column) const
{
    switch (column) {
    case K:
        if (r.k == 0)
            return tr("%1 stays dense.").arg(r.part);
        return tr("k = floor((1 − %1/100) · %2 · %3 · %4 / (%2 + %4 · %3)) = %5%6")
            .arg(m_ratio)
            .arg(r.nIn)
            .arg(r.nOut)
            .arg(r.nominalGroup)
            .arg(rankFor(m_ratio, r.nIn, r.nOut, r.nominalGroup))
            .arg(r.groupLayers < r.nominalGroup
                     ? tr("; this smaller last group keeps it, capped at min(%1, %2 · %3): k = %4")
                           .arg(r.nIn)
                           .arg(r.groupLayers)
                           .arg(r.nOut)
                           .arg(r.k)
                     : QString());
    case After:
        if (r.k == 0)
            return tr("dense: %1 × %2").arg(r.nIn).arg(r.nOut);
        return tr("coefficients %1 × %2 = %3, plus basis %4 × %1 = %5 shared by %6 layer(s): %7")
            .arg(r.k)
            .arg(r.nOut)
            .arg(formatCount(r.k * r.nOut))
            .arg(r.nIn)
            .arg(formatCount(r.nIn * r.k))
            .arg(r.groupLayers)
            .arg(formatCount(int64_t(std::llround(r.after))));
    case Part:
        return r.module;
    default:
        return {};
    }
}

QVariant LayersModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= int(m_rows.size()))
        return {};
    const LayerPartRow& r = m_rows[size_t(index.row())];
    if (role == Qt::ToolTipRole)
        return tooltip(r, index.column());
    if (role == Qt::TextAlignmentRole && index.column() >= K)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    if (role == Qt::UserRole) {   // raw values for sorting and tests
        switch (index.column()) {
        case Layer: return qlonglong(r.layer);
        case Shape: return qlonglong(r.before);
        case Group: return qlonglong(r.groupFirst);
        case K: return qlonglong(r.k);
        case Before: return qlonglong(r.before);
        case After: return r.after;
        case Energy: return r.energy;
        default: return data(index, Qt::DisplayRole);
        }
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case Layer: return qlonglong(r.layer);
    case Part: return r.part;
    case Mode: return r.mode;
    case Shape: return formatShape(r.nIn, r.nOut);
    case Group:
        return r.k == 0 ? QStringLiteral("–")
                        : r.groupFirst == r.groupLast ? QString::number(r.groupFirst)
                                                      : QStringLiteral("%1–%2").arg(r.groupFirst).arg(r.groupLast);
    case K: return r.k == 0 ? QStringLiteral("–") : QString::number(r.k);
    case Before: return formatCount(r.before);
    case After: return formatCount(int64_t(std::llround(r.after)));
    case Energy: return r.energy < 0 ? QStringLiteral("–") : formatPercent(100.0 * r.energy);
    default: return {};
    }
}

} // namespace basis::ui
