#pragma once
// Brings a window whose config has been applied to the state that config describes, one engine job after the
// other: calibrate (a matching cache named by the config is reused), compress with its settings, run its
// evaluate entries on the dense and the compressed model into the Evaluate tab, and continue the Generate tab's
// prompt; with lora_args, the compressed model is measured, healed, and the evaluations measure the healed one. Used by `basis-studio --config F --screenshot P` so every tab has content when it is grabbed.
#include <QObject>
#include <QString>

#include <functional>
#include <vector>

class QTimer;

namespace basis::ui {

class MainWindow;

class ConfigRunner : public QObject {
    Q_OBJECT
public:
    explicit ConfigRunner(MainWindow* window);
    void start();   // the window must have its model loaded and the config applied

signals:
    // Once, after the last step and when the engine has gone idle (spectra the window asks for included).
    void finished(bool ok, const QString& error);

private:
    enum class Wait { Calibrated, Compressed, Finetuned, Ppl, Throughput, Tasks, Generated };
    struct Step {
        QString what;
        Wait wait;
        std::function<void()> post;
    };
    void next();
    void stepDone(Wait what);
    void fail(const QString& error);
    void settle();

    MainWindow* m_window;
    std::vector<Step> m_steps;
    size_t m_next = 0;
    bool m_waiting = false, m_done = false;
    QTimer* m_idle = nullptr;
    int m_idleTicks = 0;
};

} // namespace basis::ui
