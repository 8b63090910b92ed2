#include "cli_progress.h"

#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace basis::cli {

namespace {
CancelToken g_interrupt;

extern "C" void onInterrupt(int)
{
    g_interrupt.cancel();             // lock-free atomic store: safe in a signal handler
    std::signal(SIGINT, SIG_DFL);     // a second Ctrl+C ends the process at once
}
} // namespace

const CancelToken* interruptToken()
{
    static const bool installed = [] {
        std::signal(SIGINT, onInterrupt);
        return true;
    }();
    (void)installed;
    return &g_interrupt;
}

void logLine(const std::string& line)
{
    std::fprintf(stderr, "basis-cli: %s\n", line.c_str());
    std::fflush(stderr);
}

StderrProgress::StderrProgress(std::string label)
    : m_label(std::move(label)), m_start(std::chrono::steady_clock::now()), m_tty(isatty(2) != 0)
{
}

void StderrProgress::operator()(int64_t done, int64_t total, const std::string& what)
{
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
    const double eta = frac > 0 ? elapsed * (1.0 - frac) / frac : 0.0;
    if (m_tty) {
        std::fprintf(stderr, "\r[%s] %s  %3.0f%%  %.1fs elapsed, ETA %.1fs   ", m_label.c_str(), what.c_str(), 100 * frac,
                     elapsed, eta);
        m_open = true;
    } else {
        const int decile = static_cast<int>(frac * 10);
        if (decile == m_lastDecile)
            return;
        m_lastDecile = decile;
        std::fprintf(stderr, "[%s] %s  %3.0f%%  %.1fs elapsed, ETA %.1fs\n", m_label.c_str(), what.c_str(), 100 * frac,
                     elapsed, eta);
    }
    std::fflush(stderr);
}

void StderrProgress::finish()
{
    if (m_open)
        std::fputc('\n', stderr);
    m_open = false;
}

} // namespace basis::cli
