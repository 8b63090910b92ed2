#pragma once
// The progress of the engine's current job in the status bar: title, bar, step, ETA, Cancel.
#include <QElapsedTimer>
#include <QWidget>

class QLabel;
class QProgressBar;
class QPushButton;

namespace basis::ui {

// Remaining time from the average rate since the job started: "" until there is enough to say.
class EtaEstimator {
public:
    void start() { m_timer.start(); }
    QString update(qint64 done, qint64 total);
    static QString format(double seconds);   // "12 s", "3 min 05 s"
private:
    QElapsedTimer m_timer;
};

class JobProgress : public QWidget {
    Q_OBJECT
public:
    explicit JobProgress(QWidget* parent = nullptr);
    void start(const QString& title);
    void setProgress(qint64 done, qint64 total, const QString& what);
    void finish();
    QPushButton* cancelButton() const { return m_cancel; }

signals:
    void cancelRequested();

private:
    QLabel* m_title = nullptr;
    QProgressBar* m_bar = nullptr;
    QLabel* m_eta = nullptr;
    QPushButton* m_cancel = nullptr;
    EtaEstimator m_estimator;
};

} // namespace basis::ui
