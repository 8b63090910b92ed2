#pragma once
// The Fine-tune tab: what trains (coefficients, bases or LoRA and its settings), the texts, the budget and the main
// optimizer settings, with defaults chosen for the loaded model's size; a live plot of the training loss against
// steps with the evaluation perplexity at its steps; tokens/s and ETA; cancel, resume from a checkpoint, and where
// the healed model (and a PEFT copy of LoRA adapters) is saved. The view asks; the window runs the job on the
// engine thread and hands each step and the result back.
#include "job_options.h"
#include "job_results.h"

#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QDoubleSpinBox;
class QLabel;
class QLineEdit;
class QPushButton;
class QSpinBox;

namespace basis::ui {

class FinetuneView : public QWidget {
    Q_OBJECT
public:
    explicit FinetuneView(QWidget* parent = nullptr);

    // Defaults for the model's size (parameters, context); keeps texts and folders the user chose.
    void setModel(const ModelSummary& summary);
    // Which model a run trains: the compressed copy when there is one, else the loaded model.
    void setCompressedAvailable(bool available, const QString& description = {});
    // Train needs a model and an idle engine; Cancel a running job.
    void setBusy(bool busy, bool hasModel);

    // The form as the engine reads it, and back (a YAML config's lora_args and finetune keys).
    FinetuneJobOptions options() const;
    void setOptions(const FinetuneJobOptions& options);

    // A run started (clears the plot), one step, the end.
    void startRun();
    void addStep(const TrainStep& step);
    void showResult(const FinetuneSummary& summary);

    QComboBox* trainCombo() const { return m_train; }
    QSpinBox* loraRankSpin() const { return m_loraRank; }
    QDoubleSpinBox* loraAlphaSpin() const { return m_loraAlpha; }
    QDoubleSpinBox* loraDropoutSpin() const { return m_loraDropout; }
    QLineEdit* loraTargetsEdit() const { return m_loraTargets; }
    QLineEdit* textEdit() const { return m_text; }
    QLineEdit* evalTextEdit() const { return m_evalText; }
    QSpinBox* stepsSpin() const { return m_steps; }
    QSpinBox* tokensSpin() const { return m_tokens; }
    QSpinBox* contextSpin() const { return m_context; }
    QSpinBox* batchSpin() const { return m_batch; }
    QSpinBox* accumulationSpin() const { return m_accumulation; }
    QLineEdit* lrEdit() const { return m_lr; }
    QSpinBox* warmupSpin() const { return m_warmup; }
    QLineEdit* minLrEdit() const { return m_minLr; }
    QDoubleSpinBox* weightDecaySpin() const { return m_weightDecay; }
    QDoubleSpinBox* clipSpin() const { return m_clip; }
    QSpinBox* seedSpin() const { return m_seed; }
    QComboBox* precisionCombo() const { return m_precision; }
    QSpinBox* evalEverySpin() const { return m_evalEvery; }
    QLineEdit* checkpointEdit() const { return m_checkpoint; }
    QCheckBox* resumeCheck() const { return m_resume; }
    QLineEdit* outEdit() const { return m_out; }
    QLineEdit* peftOutEdit() const { return m_peftOut; }
    QPushButton* trainButton() const { return m_run; }
    QPushButton* cancelButton() const { return m_cancel; }
    QCustomPlot* plot() const { return m_plot; }
    QLabel* statusLabel() const { return m_status; }

signals:
    void trainRequested();
    void cancelRequested();

private:
    void updateEnabled();
    QWidget* buildForm();

    QComboBox* m_train = nullptr;
    QSpinBox* m_loraRank = nullptr;
    QDoubleSpinBox* m_loraAlpha = nullptr;
    QDoubleSpinBox* m_loraDropout = nullptr;
    QLineEdit* m_loraTargets = nullptr;
    QLineEdit* m_text = nullptr;
    QLineEdit* m_evalText = nullptr;
    QSpinBox* m_steps = nullptr;
    QSpinBox* m_tokens = nullptr;
    QSpinBox* m_context = nullptr;
    QSpinBox* m_batch = nullptr;
    QSpinBox* m_accumulation = nullptr;
    QLineEdit* m_lr = nullptr;
    QSpinBox* m_warmup = nullptr;
    QLineEdit* m_minLr = nullptr;
    QDoubleSpinBox* m_weightDecay = nullptr;
    QDoubleSpinBox* m_clip = nullptr;
    QSpinBox* m_seed = nullptr;
    QComboBox* m_precision = nullptr;
    QSpinBox* m_evalEvery = nullptr;
    QLineEdit* m_checkpoint = nullptr;
    QCheckBox* m_resume = nullptr;
    QLineEdit* m_out = nullptr;
    QLineEdit* m_peftOut = nullptr;
    QPushButton* m_run = nullptr;
    QPushButton* m_cancel = nullptr;
    QLabel* m_target = nullptr;
    QLabel* m_status = nullptr;
    QCustomPlot* m_plot = nullptr;
    bool m_busy = false, m_hasModel = false;
};

} // namespace basis::ui
