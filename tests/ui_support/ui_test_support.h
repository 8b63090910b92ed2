#pragma once
// Helpers shared by the Qt Test suites of the GUI (tests/ui_*): where ../shared is (stories260K and the TinyStories
// texts: their embedded copies, embedded_data.h), and a settings sandbox.
#include "embedded_data.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QString>
#include <QTimer>

#include <ctime>

#include <algorithm>

#include <cstdlib>
#include <filesystem>

namespace basis::uitest {

inline std::filesystem::path sharedPath(const std::string& relative)
{
    if (auto embedded = basis::test::embeddedCopy(relative))
        return *embedded;
    const char* env = std::getenv("BASIS_SHARED_DIR");
    return std::filesystem::path(env && *env ? env : BASIS_SHARED_DIR_DEFAULT) / relative;
}

inline QString shared(const std::string& relative) { return QString::fromStdString(sharedPath(relative).string()); }

// Waits, processing events, until `finished` (a spy on EngineChannel::jobFinished) has `count` entries or
// `timeoutMs` passed; true when they arrived.
inline bool waitJobs(QSignalSpy& finished, int count, int timeoutMs, int pollMs = 500)
{
    QElapsedTimer t;
    t.start();
    while (finished.count() < count && t.elapsed() < timeoutMs)
        finished.wait(pollMs);
    return finished.count() >= count;
}

// QSettings and QStandardPaths of a test never touch the user's own (recent models, caches).
inline void sandboxSettings(const char* testName)
{
    QStandardPaths::setTestModeEnabled(true);
    QCoreApplication::setOrganizationName(QStringLiteral("BasisStudioTests"));
    QCoreApplication::setApplicationName(QString::fromLatin1(testName));
}

// Longest gap between ticks of a 5 ms timer on the GUI thread: only work on the GUI thread makes it long.
class StallMeter {
public:
    StallMeter()
    {
        m_clock.start();
        m_lastCpu = threadCpuMs();
        QObject::connect(&m_timer, &QTimer::timeout, [this] {
            const qint64 now = m_clock.elapsed();
            const double cpu = threadCpuMs();
            m_longestWall = std::max(m_longestWall, now - m_last);
            m_longest = std::max(m_longest, qint64(cpu - m_lastCpu));
            m_last = now;
            m_lastCpu = cpu;
        });
        m_timer.start(5);
    }
    // The longest time the GUI thread itself was busy between two ticks of a 5 ms timer: model work on the GUI
    // thread shows here. Waiting for a core (a build beside, ctest -j2) does not: the thread uses no CPU then,
    // which made a wall-clock measure fail on a loaded machine with nothing wrong in the app.
    qint64 longestMs() const { return m_longest; }
    qint64 longestWallMs() const { return m_longestWall; }   // the same gaps on the wall clock, for the log

private:
    static double threadCpuMs()
    {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
    }
    QElapsedTimer m_clock;
    QTimer m_timer;
    qint64 m_last = 0, m_longest = 0, m_longestWall = 0;
    double m_lastCpu = 0;
};

} // namespace basis::uitest

// Skips the current Qt Test function, naming the missing file, when ../shared is absent.
#define BASIS_UI_REQUIRE_SHARED(relative)                                                                        \
    do {                                                                                                           \
        const auto p_ = basis::uitest::sharedPath(relative);                                                       \
        if (!std::filesystem::exists(p_))                                                                          \
            QSKIP(qPrintable(QStringLiteral("test data not found: %1 (set BASIS_SHARED_DIR to the shared/ folder)") \
                                 .arg(QString::fromStdString(p_.string()))));                                      \
    } while (0)
