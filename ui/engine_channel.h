#pragma once
// The studio's one way to the engine: a job is a callable run on the engine thread with the Workspace (the engine
// path every front end shares, engine/jobs/workspace.h); its result comes back to a callable on the GUI thread.
// Jobs run one after the other in the order posted. Progress, log lines and each job's start and end are the
// channel's four signals, whatever the job. Destroying it (or shutdown()) cancels the running job and joins the thread.
#include "severity.h"
#include "workspace.h"

#include <QObject>
#include <QString>
#include <QThread>

#include <functional>
#include <type_traits>
#include <utility>

namespace basis::ui {

class EngineHost;

class EngineChannel : public QObject {
    Q_OBJECT
public:
    using Body = std::function<void(Workspace&, const JobContext&)>;

    explicit EngineChannel(QObject* parent = nullptr);
    ~EngineChannel() override;

    // Runs `body` on the engine thread after the jobs posted before it; `title` names it in the progress bar and
    // the log. An exception ends the job with an error line (basis::Cancelled: "cancelled").
    void post(const QString& title, Body body);
    // `job(workspace, context)` on the engine thread, then `done(result)` on the GUI thread, before jobFinished.
    template <typename Job, typename Done> void run(const QString& title, Job job, Done done)
    {
        using R = std::invoke_result_t<Job&, Workspace&, const JobContext&>;
        post(title, [this, job = std::move(job), done = std::move(done)](Workspace& w, const JobContext& c) mutable {
            if constexpr (std::is_void_v<R>) {
                job(w, c);
                onGui([done] { done(); });
            } else {
                R result = job(w, c);
                onGui([done, result = std::move(result)] { done(result); });
            }
        });
    }
    // From a job on the engine thread: `fn` runs on the GUI thread, in order with the job's signals (streaming).
    void onGui(std::function<void()> fn);

    void cancel();      // the running job, if any; thread-safe flag, returns at once
    void shutdown();    // cancel, drop queued jobs, stop the thread and wait for it; idempotent
    bool isBusy() const { return m_busy; }
    bool isRunning() const { return m_thread.isRunning(); }

signals:
    void jobStarted(const QString& title);
    void progress(qint64 done, qint64 total, const QString& what);
    // Always follows jobStarted: ok is false after an error or a cancel.
    void jobFinished(const QString& title, bool ok);
    // Just before jobFinished: the job's wall time and the process's peak RssAnon and file-backed RSS while it
    // ran (memory_usage.h), in bytes.
    void jobMeasured(const QString& title, double seconds, qint64 peakAnon, qint64 peakFile);
    void message(int severity, const QString& text);   // Severity as int

private:
    QThread m_thread;
    EngineHost* m_host = nullptr;   // lives on m_thread, owns the Workspace; deleted there when the loop ends
    bool m_busy = false;
};

} // namespace basis::ui
