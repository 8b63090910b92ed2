#pragma once
// The Generate tab: one prompt through the dense and the compressed model, greedy, side by side, streamed as
// the engine thread produces tokens, each pane with its speed.
#include "job_options.h"
#include "severity.h"
#include "job_results.h"

#include <QWidget>

class QGroupBox;
class QLabel;
class QPlainTextEdit;
class QTextEdit;
class QPushButton;
class QSpinBox;

namespace basis::ui {

class GenerateView : public QWidget {
    Q_OBJECT
public:
    explicit GenerateView(QWidget* parent = nullptr);

    GenerateJobOptions setup() const;
    void setPrompt(const QString& prompt);
    void setCompressedAvailable(bool available, const QString& description = {});
    void setBusy(bool busy);
    void clearOutputs();                          // called when a generation starts
    void showOutput(const GenerationOutput& out); // streamed or final

    // The continuations shown (the prompt before them is not part of them).
    QString denseText() const;
    QString compressedText() const;
    QPushButton* generateButton() const { return m_run; }
    QSpinBox* maxTokensSpin() const { return m_maxTokens; }

signals:
    void generateRequested();

private:
    struct Pane {
        QGroupBox* box = nullptr;
        QTextEdit* text = nullptr;
        QLabel* stats = nullptr;
        QString continuation;   // the model's new text, without the prompt shown before it
    };
    Pane makePane(const QString& title);
    void show(Pane& pane, const QString& continuation);

    QPlainTextEdit* m_prompt = nullptr;
    QSpinBox* m_maxTokens = nullptr;
    QPushButton* m_run = nullptr;
    Pane m_dense, m_compressed;
    bool m_hasCompressed = false;
    QString m_shownPrompt;   // the prompt of the generation on screen
};

} // namespace basis::ui
