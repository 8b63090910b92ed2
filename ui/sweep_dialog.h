#pragma once
// The Sweep dialog of the Evaluate tab: which methods, exact budgets and/or published ratios, group sizes and
// allocators to run (engine/jobs/sweep.h), whether the dense model is a point too, and the results file. The
// count of runs follows every change; the sweep itself runs on the engine thread (MainWindow::runSweep).
#include "run_config.h"

#include <QDialog>

class QCheckBox;
class QDialogButtonBox;
class QLabel;
class QLineEdit;
class QListWidget;

namespace basis::ui {

class SweepDialog : public QDialog {
    Q_OBJECT
public:
    // `base`: the studio's current settings as a config (model, calibration, parts, evaluations); the dialog
    // starts from `start` (the last sweep asked for, or one of `method` at 20/30/40/50 %).
    SweepDialog(const RunConfig& base, const SweepSpec& start, QWidget* parent = nullptr);
    // The sweep the controls describe; throws basis::Error naming the field that does not parse or validate.
    SweepSpec spec() const;
    // The runs it expands to (what the count line says), or the reason it cannot.
    QStringList runIds(QString* error = nullptr) const;

    QListWidget* methodList() const { return m_methods; }
    QLineEdit* budgetsEdit() const { return m_budgets; }
    QLineEdit* ratiosEdit() const { return m_ratios; }
    QLineEdit* groupSizesEdit() const { return m_groups; }
    QCheckBox* allocatorCheck(const QString& name) const;   // uniform, greedy, greedy-relative, loss
    QCheckBox* denseCheck() const { return m_dense; }
    QLineEdit* resultsEdit() const { return m_results; }
    QLabel* countLabel() const { return m_count; }

private:
    void refresh();
    std::string allocatorName(const QCheckBox* c) const;

    RunConfig m_base;
    QListWidget* m_methods = nullptr;
    QLineEdit *m_budgets = nullptr, *m_ratios = nullptr, *m_groups = nullptr, *m_results = nullptr;
    QCheckBox *m_uniform = nullptr, *m_greedy = nullptr, *m_relative = nullptr, *m_loss = nullptr, *m_dense = nullptr;
    QLabel* m_count = nullptr;
    QDialogButtonBox* m_buttons = nullptr;
};

} // namespace basis::ui
