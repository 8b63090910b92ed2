#pragma once
#include <atomic>
#include <functional>
#include <string>

namespace basis {

// Shared between a long job and whoever may cancel it (another thread). Jobs poll it between
// layers and batches and throw basis::Cancelled.
class CancelToken {
public:
    void cancel() { m_cancelled.store(true); }
    bool isCancelled() const { return m_cancelled.load(); }
    void reset() { m_cancelled.store(false); }
private:
    std::atomic<bool> m_cancelled{false};
};

// done out of total units of work, with a short description of the current step.
using ProgressFn = std::function<void(int64_t done, int64_t total, const std::string& what)>;

// A line for the user's log (a recovered output, a wait for a lock): stderr in the CLI, the log dock in the studio.
using LogFn = std::function<void(const std::string& line)>;

struct JobContext {
    ProgressFn progress;                 // may be empty
    const CancelToken* cancel = nullptr; // may be null
    LogFn log{};                         // may be empty
    void note(const std::string& line) const {
        if (log) log(line);
    }
    void report(int64_t done, int64_t total, const std::string& what) const {
        if (progress) progress(done, total, what);
    }
    void checkCancelled() const;         // throws basis::Cancelled
};

} // namespace basis
