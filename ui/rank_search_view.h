#pragma once
// The Rank search tab (issue 13's surgical search): its options, Start / Cancel, each projection's trials as they
// arrive (a table and a plot of the search-text perplexity against the model's parameters), and the result applied
// to the Method box as a ranks file. A search started again with the same ranks file and log resumes where a
// cancelled one stopped (the log the CLI's `basis-cli search` writes too). The job is the engine's
// Workspace::search; this view only asks for it through signals MainWindow connects.
#include "rank_search_options.h"

#include <QWidget>

#include <optional>
#include <vector>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPGraph;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace basis::ui {

class RankSearchView : public QWidget {
    Q_OBJECT
public:
    explicit RankSearchView(QWidget* parent = nullptr);

    // The options the controls give (defaults: a default-constructed SearchOptions; the ranks file in `folder`).
    SearchOptions options() const;
    void setDefaultFolder(const QString& folder);   // where the ranks file goes unless one is typed
    void setBusy(bool engineBusy, bool searching);

    void clearTrials();
    void addTrial(const SearchTrial& t);
    void setResult(const SearchSummary& s);
    const std::optional<SearchSummary>& result() const { return m_result; }
    const std::vector<SearchTrial>& trials() const { return m_trials; }

    QComboBox* methodCombo() const { return m_method; }
    QDoubleSpinBox* deltaSpin() const { return m_delta; }
    QSpinBox* tokensSpin() const { return m_tokens; }
    QSpinBox* startLayerSpin() const { return m_startLayer; }
    QLineEdit* textEdit() const { return m_text; }
    QLineEdit* outEdit() const { return m_out; }
    QCheckBox* restartCheck() const { return m_restart; }
    QPushButton* startButton() const { return m_start; }
    QPushButton* cancelButton() const { return m_cancel; }
    QPushButton* applyButton() const { return m_apply; }
    QTableWidget* table() const { return m_table; }
    QCustomPlot* plot() const { return m_plot; }
    QCPGraph* acceptedGraph() const { return m_accepted; }   // x = parameters, y = perplexity
    QCPGraph* rejectedGraph() const { return m_rejected; }
    QLabel* statusLabel() const { return m_status; }

signals:
    void startRequested(const basis::SearchOptions& options);
    void cancelRequested();
    // The result's ranks file for the Method box, with the method that searched.
    void applyRequested(const QString& ranksFile, const QString& method);

private:
    void replot();

    std::vector<SearchTrial> m_trials;
    std::optional<SearchSummary> m_result;
    QString m_folder;
    QComboBox* m_method = nullptr;
    QDoubleSpinBox* m_delta = nullptr;
    QSpinBox* m_tokens = nullptr;
    QSpinBox* m_startLayer = nullptr;
    QLineEdit* m_text = nullptr;
    QLineEdit* m_out = nullptr;
    QCheckBox* m_restart = nullptr;
    QPushButton* m_start = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_apply = nullptr;
    QLabel* m_status = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPGraph* m_accepted = nullptr;
    QCPGraph* m_rejected = nullptr;
    QCPGraph* m_path = nullptr;   // the model's parameters and perplexity after each accepted trial
};

} // namespace basis::ui
