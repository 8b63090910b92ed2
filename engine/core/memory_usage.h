#pragma once
// Resident memory of this process from /proc/self/status, split as the kernel splits it: RssAnon (heap and
// anonymous maps: cannot be evicted, what decides whether a job fits) and RssFile (pages of memory-mapped files,
// such as a checkpoint's weights kept as stored: the kernel drops them under pressure and reads them again).
// Linux only; elsewhere every figure is 0.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace basis {

struct MemoryFigures {
    int64_t rssAnon = 0, rssFile = 0;   // bytes, now
    int64_t peakRss = 0;                // VmHWM: the kernel's exact peak of anon + file + shmem
};

MemoryFigures currentMemory();

// Samples /proc/self/status every `periodMs` on its own thread from construction to stop() or destruction and keeps
// the peaks of RssAnon and RssFile (the kernel keeps no peak of either; a spike shorter than the period can be
// missed, VmHWM is exact for the total).
class MemoryWatch {
public:
    explicit MemoryWatch(int periodMs = 20);
    ~MemoryWatch();
    MemoryWatch(const MemoryWatch&) = delete;
    MemoryWatch& operator=(const MemoryWatch&) = delete;

    void stop();   // at once: the sampler is woken, not waited for to the end of its period
    int64_t peakAnon() const { return m_peakAnon.load(); }
    int64_t peakFile() const { return m_peakFile.load(); }
    int64_t peakRss() const;   // VmHWM now

private:
    void sample();
    int m_periodMs;
    bool m_stop = false;   // guarded by m_mutex
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::atomic<int64_t> m_peakAnon{0}, m_peakFile{0};
    std::thread m_thread;
};

// "1.23 GB" (10^9 bytes).
std::string formatGigabytes(int64_t bytes);

} // namespace basis
