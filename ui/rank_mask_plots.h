#pragma once
// The mask heatmaps of a dynamic-rank run over a prompt (Workspace::rankMasks):
// (a) tokens x rank channels of one projection (layer, part): each cell e_tj = z_tj² ‖C[j,:]‖² as a share of the
//     token's energy, kept channels in colour, dropped ones grey (log scales, five decades);
// (b) layers x rank channels of that part: the share of the prompt's tokens that keep each channel.
// Channels are in their stored order (calibration importance, 1 = most important), so a prefix is a solid block
// at the left. Hover for values; a click on (b) picks the layer (a) shows.
#include "job_results.h"

#include <QWidget>

#include <optional>
#include <string>
#include <vector>

class QCustomPlot;
class QCPAbstractItem;
class QCPColorMap;
class QCPColorScale;
class QMouseEvent;

namespace basis::ui {

class RankMaskPlots : public QWidget {
    Q_OBJECT
public:
    explicit RankMaskPlots(QWidget* parent = nullptr);

    // The capture to draw (null: nothing), and which projection (a) shows.
    void setMasks(const RankMasksSummary* masks);
    void select(int64_t layer, const std::string& part);

    // The projection (a) shows, null when none.
    const RankMaskSummary* selected() const;
    // What (a) and (b) draw, for tests: cell values in %, NaN where nothing is drawn.
    QCPColorMap* keptMap() const { return m_keptMap; }
    QCPColorMap* droppedMap() const { return m_droppedMap; }
    QCPColorMap* frequencyMap() const { return m_frequencyMap; }
    QCustomPlot* tokensPlot() const { return m_tokensPlot; }
    QCustomPlot* layersPlot() const { return m_layersPlot; }
    // Hover texts: token t (from 0), channel j (from 1); layer, channel j (from 1) of the selected part.
    QString tokenCellText(int64_t token, int64_t channel) const;
    QString layerCellText(int64_t layer, int64_t channel) const;

signals:
    void layerClicked(int64_t layer);

private:
    void drawTokens();
    void drawLayers();
    std::vector<const RankMaskSummary*> partMasks() const;   // the selected part's projections, by layer
    void hoverTokens(QMouseEvent* event);
    void hoverLayers(QMouseEvent* event);

    const RankMasksSummary* m_masks = nullptr;
    int64_t m_layer = 0;
    std::string m_part;

    QCustomPlot* m_tokensPlot = nullptr;
    QCustomPlot* m_layersPlot = nullptr;
    QCPColorMap* m_keptMap = nullptr;
    QCPColorMap* m_droppedMap = nullptr;
    QCPColorMap* m_frequencyMap = nullptr;
    std::vector<QCPAbstractItem*> m_layerItems;
};

// A token as the plots label it: quoted, with line breaks and tabs made visible.
QString tokenLabel(const std::string& token);

} // namespace basis::ui
