#pragma once
// The Errors tab of the quantizing methods (caldera, rtn, gptq): one row per compressed projection with its relative
// H-error ||(W - Q - L R) H^1/2||_F / ||W H^1/2||_F after each iteration and the iterate kept (the smallest), and a
// plot of the error against the iteration for the projection chosen in the table. The numbers are the engine's own
// (GroupSummary::iterationErrors of the last compression), delivered by the document.
#include "job_results.h"

#include <QWidget>

#include <optional>

class QCustomPlot;
class QCPGraph;
class QLabel;
class QTableWidget;

namespace basis::ui {

class QuantErrorsView : public QWidget {
    Q_OBJECT
public:
    explicit QuantErrorsView(QWidget* parent = nullptr);

    // The last compression (any method: only the quantizing ones have errors to show).
    void setCompression(const CompressionSummary& s);

    // Rows: the summary's groups with errors, in order; column 0 part, 1 layer, 2 kept iteration (from 1), then
    // the error after iteration i in column 2 + i (Qt::UserRole holds the double, the text rounds it).
    QTableWidget* table() const { return m_table; }
    QCustomPlot* plot() const { return m_plot; }
    QCPGraph* errorGraph() const { return m_errors; }   // x = iteration (from 1), y = err
    QCPGraph* keptGraph() const { return m_kept; }       // the kept iterate alone
    int shownRow() const { return m_shown; }
    QLabel* statusLabel() const { return m_status; }

private:
    void showRow(int row);

    std::vector<GroupSummary> m_groups;   // those with errors, one per table row
    QLabel* m_status = nullptr;
    QTableWidget* m_table = nullptr;
    QCustomPlot* m_plot = nullptr;
    QCPGraph* m_errors = nullptr;
    QCPGraph* m_kept = nullptr;
    int m_shown = -1;
};

} // namespace basis::ui
