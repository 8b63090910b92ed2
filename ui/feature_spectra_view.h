#pragma once
// The Spectra tab for the feature-space methods (utilized, hybrid, weight-svd, sfsd): for one projection (part and
// layer), the output spectrum the method reads its rank from (eigenvalues of G_y = W G W^T, of the centred
// C_y = W C_x W^T for sfsd, squared singular values of W for weight-svd) with the cut at the chosen rank, and the
// input-side spectrum (G, or C_x for sfsd) for comparison. Each is drawn as a share of its own total, so the two
// sit on one log axis. The numbers are the engine's (Workspace::featureSpace), delivered by the document.
#include "job_results.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QCustomPlot;
class QCPGraph;
class QCPItemLine;
class QCPItemText;
class QLabel;
class QSpinBox;

namespace basis::ui {

class FeatureSpectraView : public QWidget {
    Q_OBJECT
public:
    explicit FeatureSpectraView(QWidget* parent = nullptr);

    // The latest result (null: none yet, `status` says why). The view keeps a copy.
    void setSummary(const FeatureSpaceSummary* summary, const QString& status = {});

    QComboBox* partCombo() const { return m_part; }
    QSpinBox* layerSpin() const { return m_layer; }
    QCustomPlot* plot() const { return m_plot; }
    QCPGraph* outputGraph() const { return m_output; }    // lambda_i / sum lambda (NaN where lambda_i = 0)
    QCPGraph* inputGraph() const { return m_input; }
    QCPGraph* cumulativeGraph() const { return m_cumulative; }   // energy of the first i, %
    // The projection drawn (null when none) and the cut: x of the line and its label.
    const FeatureProjection* shown() const;
    double cutX() const;
    QString cutLabel() const;
    QLabel* statusLabel() const { return m_status; }

private:
    void redraw();

    std::optional<FeatureSpaceSummary> m_summary;
    QComboBox* m_part = nullptr;
    QSpinBox* m_layer = nullptr;
    QLabel* m_status = nullptr;
    QLabel* m_details = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPGraph* m_output = nullptr;
    QCPGraph* m_input = nullptr;
    QCPGraph* m_cumulative = nullptr;
    QCPItemLine* m_cut = nullptr;
    QCPItemText* m_cutText = nullptr;
};

// The text of a projection's cut, shared by the plot label and the Utilization tooltips.
QString featureCutText(const FeatureProjection& p);

} // namespace basis::ui
