#pragma once
// The Dynamic rank tab: the strategy controls (rank_strategy_box.h), a prompt the user types, and the mask
// heatmaps of that prompt under the strategy (rank_mask_plots.h) for a chosen layer and part, with a line of
// statistics (mean k, energy kept, share of token masks that are one contiguous block). The view asks; the window
// posts Workspace::rankMasks to the engine thread and hands the result back (setMasks).
#include "job_options.h"
#include "job_results.h"

#include <QWidget>

#include <optional>

class QComboBox;
class QLabel;
class QPlainTextEdit;
class QPushButton;

namespace basis::ui {

class RankMaskPlots;
class RankStrategyBox;

class DynamicRankView : public QWidget {
    Q_OBJECT
public:
    explicit DynamicRankView(QWidget* parent = nullptr);

    // The mask run the controls ask for (which model: the window's choice, `compressed`).
    RankMasksJobOptions masksOptions() const;
    void setMasks(const RankMasksSummary& masks);
    const std::optional<RankMasksSummary>& masks() const { return m_masks; }
    void setBusy(bool busy);
    // Whether a factorized model is there to run (the compressed copy, or a compressed folder opened).
    void setFactorizedAvailable(bool available, const QString& what = {});
    void clearMasks();

    RankStrategyBox* strategyBox() const { return m_strategy; }
    RankMaskPlots* plots() const { return m_plots; }
    QPlainTextEdit* promptEdit() const { return m_prompt; }
    QComboBox* partCombo() const { return m_part; }
    QComboBox* layerCombo() const { return m_layer; }
    QPushButton* runButton() const { return m_run; }
    QLabel* statisticsLabel() const { return m_statistics; }

signals:
    void masksRequested();

private:
    void fillChoices();
    void showSelection();
    void updateForm();

    RankStrategyBox* m_strategy = nullptr;
    QPlainTextEdit* m_prompt = nullptr;
    QComboBox* m_part = nullptr;
    QComboBox* m_layer = nullptr;
    QPushButton* m_run = nullptr;
    QLabel* m_hint = nullptr;
    QLabel* m_statistics = nullptr;
    RankMaskPlots* m_plots = nullptr;
    std::optional<RankMasksSummary> m_masks;
    bool m_busy = false, m_available = false;
};

// The statistics line of a capture and of one of its projections (null: the capture's only).
QString maskStatisticsText(const RankMasksSummary& masks, const RankMaskSummary* selected);

} // namespace basis::ui
