#pragma once
// The Evaluate tab: a perplexity form (dataset preset or text file, context, stride, protocol), a throughput
// form (prompt, generated tokens, batch, repeats) and a zero-shot tasks form (task, JSONL file, limit), each for the dense model, the compressed one or both; every
// finished run goes into the results table and the Pareto plot, which export as CSV/JSON and PNG/PDF.
// The view asks; the window posts the runs to the engine thread and hands the results back.
#include "job_options.h"
#include "severity.h"
#include "job_results.h"

#include <nlohmann/json.hpp>

#include <QWidget>

#include <vector>

class QComboBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;
class QTableView;
class QToolButton;

namespace basis::ui {

class EvalResultsModel;
class ParetoPlot;
struct EvalResult;

class EvaluateView : public QWidget {
    Q_OBJECT
public:
    explicit EvaluateView(QWidget* parent = nullptr);

    void setMaxContext(int64_t maxPositions);
    void setCompressedAvailable(bool available);
    void setBusy(bool busy);
    void setDataDir(const QString& dir);
    QString dataDir() const;
    // Fills the perplexity form (a dataset or a file; context 0 keeps the current value).
    void setPplForm(const PerplexityJobOptions& setup);
    // Says which dynamic-rank strategy the runs of a factorized model use (the Dynamic rank tab's); empty: none.
    void setRankNote(const QString& note);
    QLabel* rankNote() const { return m_rankNote; }

    // The runs the forms ask for: one per model chosen (dense first).
    std::vector<PerplexityJobOptions> pplSetups() const;
    std::vector<ThroughputJobOptions> throughputSetups() const;
    std::vector<TasksJobOptions> tasksSetups() const;

    void addPpl(const PerplexitySummary& summary);
    void addThroughput(const ThroughputSummary& summary);
    void addTasks(const TasksSummary& summary);

    // A sweep's record (engine/jobs/sweep.h), as it finishes or read back: one row per result.
    void addSweepRecord(const nlohmann::json& record);
    // Every record of a sweep's results.jsonl into the table; false and the reason (file and line) otherwise.
    bool openSweepResults(const QString& file, QString* error);
    bool exportCsv(const QString& file, QString* error) const;
    bool exportJson(const QString& file, QString* error) const;

    EvalResultsModel* results() const { return m_results; }
    ParetoPlot* pareto() const { return m_pareto; }
    QTableView* table() const { return m_table; }
    QPushButton* pplButton() const { return m_pplRun; }
    QPushButton* throughputButton() const { return m_tpRun; }
    QComboBox* sourceCombo() const { return m_source; }
    QLineEdit* textEdit() const { return m_file; }
    QSpinBox* contextSpin() const { return m_context; }
    QSpinBox* strideSpin() const { return m_stride; }
    QComboBox* protocolCombo() const { return m_protocol; }
    QComboBox* pplModelCombo() const { return m_pplModel; }
    QSpinBox* promptLenSpin() const { return m_promptLen; }
    QSpinBox* genLenSpin() const { return m_genLen; }
    QSpinBox* batchSpin() const { return m_batch; }
    QSpinBox* repeatsSpin() const { return m_repeats; }
    QComboBox* throughputModelCombo() const { return m_tpModel; }
    QComboBox* taskCombo() const { return m_task; }
    QLineEdit* taskFileEdit() const { return m_taskFile; }
    QSpinBox* taskLimitSpin() const { return m_taskLimit; }
    QComboBox* tasksModelCombo() const { return m_tasksModel; }
    QPushButton* tasksButton() const { return m_tasksRun; }
    QComboBox* plotXCombo() const { return m_plotX; }
    QComboBox* plotEvaluationCombo() const { return m_plotEvaluation; }
    QPushButton* sweepButton() const { return m_sweep; }

signals:
    void pplRequested();
    void throughputRequested();
    void tasksRequested();
    void sweepRequested();
    // A point of the Pareto view was clicked: its run's settings may be loaded into the compression controls.
    void runChosen(const basis::ui::EvalResult& run);
    void message(int severity, const QString& text);   // Severity as int

private:
    QWidget* buildPplForm();
    QWidget* buildThroughputForm();
    QWidget* buildTasksForm();
    void suggestTaskFile();   // the data folder's hellaswag file while the field is empty
    QWidget* buildResults();
    void updateForm();
    void refreshPlot();
    void chooseExport(const QString& what);
    static std::vector<bool> chosenModels(const QComboBox* combo);   // {compressed?} per run

    QComboBox* m_source = nullptr;
    QLineEdit* m_file = nullptr;
    QToolButton* m_fileBrowse = nullptr;
    QLineEdit* m_dataDir = nullptr;
    QToolButton* m_dataBrowse = nullptr;
    QSpinBox* m_context = nullptr;
    QSpinBox* m_stride = nullptr;
    QComboBox* m_protocol = nullptr;
    QComboBox* m_pplModel = nullptr;
    QPushButton* m_pplRun = nullptr;

    QSpinBox* m_promptLen = nullptr;
    QSpinBox* m_genLen = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_repeats = nullptr;
    QComboBox* m_tpModel = nullptr;
    QPushButton* m_tpRun = nullptr;

    QComboBox* m_task = nullptr;
    QLineEdit* m_taskFile = nullptr;
    QSpinBox* m_taskLimit = nullptr;
    QComboBox* m_tasksModel = nullptr;
    QPushButton* m_tasksRun = nullptr;

    EvalResultsModel* m_results = nullptr;
    QTableView* m_table = nullptr;
    ParetoPlot* m_pareto = nullptr;
    QComboBox* m_plotX = nullptr;
    QComboBox* m_plotEvaluation = nullptr;
    QPushButton* m_sweep = nullptr;
    QLabel* m_hint = nullptr;
    QLabel* m_rankNote = nullptr;
    bool m_busy = false, m_compressed = false;
};

} // namespace basis::ui
