#include "engine_channel.h"

#include "error.h"
#include "memory_usage.h"

#include <QElapsedTimer>
#include <QMetaObject>

#include <exception>

namespace basis::ui {

// The engine thread's side: owns the Workspace, so all LibTorch state is made, used and freed on that thread.
class EngineHost : public QObject {
    Q_OBJECT
public:
    void execute(const QString& title, const EngineChannel::Body& body);
    CancelToken cancelToken;

signals:
    void jobStarted(const QString& title);
    void progress(qint64 done, qint64 total, const QString& what);
    void jobFinished(const QString& title, bool ok);
    void jobMeasured(const QString& title, double seconds, qint64 peakAnon, qint64 peakFile);
    void message(int severity, const QString& text);

private:
    Workspace m_workspace;
};

void EngineHost::execute(const QString& title, const EngineChannel::Body& body)
{
    if (QThread::currentThread()->isInterruptionRequested())
        return;   // shutting down: jobs still queued are dropped
    cancelToken.reset();
    emit jobStarted(title);
    MemoryWatch memory;   // the peaks while this job runs, sampled on a thread of its own
    QElapsedTimer wall;
    wall.start();
    // Progress is throttled: engines may report thousands of steps, and every signal is an event for the GUI.
    QElapsedTimer sinceLast;
    sinceLast.start();
    bool first = true;
    JobContext job;
    job.cancel = &cancelToken;
    job.progress = [&](int64_t done, int64_t total, const std::string& what) {
        if (QThread::currentThread()->isInterruptionRequested())
            cancelToken.cancel();
        if (first || done >= total || sinceLast.elapsed() >= 50) {
            first = false;
            sinceLast.restart();
            emit progress(done, total, QString::fromStdString(what));
        }
    };
    job.log = [&](const std::string& line) { emit message(int(Severity::Warning), title + ": " + QString::fromStdString(line)); };
    bool ok = false;
    Severity endSeverity = Severity::Info;
    QString endText;   // how a job that did not finish ended, logged after its figures so it is the last line
    try {
        body(m_workspace, job);
        ok = true;
    } catch (const Cancelled&) {
        endText = title + ": cancelled";
    } catch (const std::exception& e) {
        // basis::Error carries a complete message; LibTorch's c10::Error is a std::exception too.
        endSeverity = Severity::Error;
        endText = title + ": " + QString::fromStdString(e.what());
    }
    memory.stop();
    emit jobMeasured(title, double(wall.elapsed()) / 1000.0, memory.peakAnon(), memory.peakFile());
    if (!ok)
        emit message(int(endSeverity), endText);
    emit jobFinished(title, ok);
}

EngineChannel::EngineChannel(QObject* parent) : QObject(parent)
{
    m_thread.setObjectName("engine");
    m_host = new EngineHost;
    m_host->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_host, &QObject::deleteLater);
    // The host lives on another thread, so these connections are queued: handlers run on the GUI thread, in the
    // order the host emitted them, interleaved in order with onGui() calls.
    connect(m_host, &EngineHost::jobStarted, this, [this](const QString& title) {
        m_busy = true;
        emit jobStarted(title);
    });
    connect(m_host, &EngineHost::jobFinished, this, [this](const QString& title, bool ok) {
        m_busy = false;
        emit jobFinished(title, ok);
    });
    connect(m_host, &EngineHost::progress, this, &EngineChannel::progress);
    connect(m_host, &EngineHost::jobMeasured, this, &EngineChannel::jobMeasured);
    connect(m_host, &EngineHost::message, this, &EngineChannel::message);
    m_thread.start();
}

EngineChannel::~EngineChannel() { shutdown(); }

void EngineChannel::post(const QString& title, Body body)
{
    if (m_thread.isRunning())
        QMetaObject::invokeMethod(
            m_host, [h = m_host, title, body = std::move(body)] { h->execute(title, body); }, Qt::QueuedConnection);
}

void EngineChannel::onGui(std::function<void()> fn)
{
    QMetaObject::invokeMethod(this, std::move(fn), Qt::QueuedConnection);
}

void EngineChannel::cancel()
{
    if (m_thread.isRunning())
        m_host->cancelToken.cancel();
}

void EngineChannel::shutdown()
{
    if (!m_thread.isRunning())
        return;
    m_host->cancelToken.cancel();
    m_thread.requestInterruption();   // the host drops jobs still queued and cancels at its next progress report
    m_thread.quit();
    m_thread.wait();
    m_busy = false;
}

} // namespace basis::ui

#include "engine_channel.moc"
