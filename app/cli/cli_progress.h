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

} // namespace basis::cli
