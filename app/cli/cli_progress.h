#pragma once
// Progress on stderr: a live line on a terminal, a line per 10% otherwise (logs stay short).
#include "progress.h"

#include <chrono>
#include <string>

namespace basis::cli {

class StderrProgress {
public:
    explicit StderrProgress(std::string label);
    void operator()(int64_t done, int64_t total, const std::string& what);
    ProgressFn fn() { return [this](int64_t d, int64_t t, const std::string& w) { (*this)(d, t, w); }; }
    void finish();

private:
    std::string m_label;
    std::chrono::steady_clock::time_point m_start;
    bool m_tty;
    int m_lastDecile = -1;
    bool m_open = false;
};

// A cancel token that the first Ctrl+C (SIGINT) fires: the running job stops at its next check and the command
// exits with status 130 ("cancelled"), leaving no partial output. A second Ctrl+C kills as usual.
const CancelToken* interruptToken();

// A log line on stderr ("basis-cli: recovered ...").
void logLine(const std::string& line);

// Progress and log lines on stderr, cancel on Ctrl+C.
inline JobContext cliJob(StderrProgress& progress) { return JobContext{progress.fn(), interruptToken(), logLine}; }
inline JobContext cliJob() { return JobContext{{}, interruptToken(), logLine}; }
// Loading a model: cancel on Ctrl+C and nothing printed; a folder without a tokenizer is reported by the job that
// needs one (the error names what was looked for, or the malformed file).
inline JobContext loadJob() { return JobContext{{}, interruptToken(), {}}; }

} // namespace basis::cli
