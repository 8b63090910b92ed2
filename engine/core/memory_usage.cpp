#include "memory_usage.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

namespace basis {

MemoryFigures currentMemory()
{
    MemoryFigures m;
    std::ifstream in("/proc/self/status");
    std::string line;
    auto field = [&](const char* key, int64_t& out) {
        const std::string k = key;
        if (line.compare(0, k.size(), k) == 0)
            out = std::stoll(line.substr(k.size())) * 1024;   // "VmHWM:   123456 kB"
    };
    while (std::getline(in, line)) {
        field("RssAnon:", m.rssAnon);
        field("RssFile:", m.rssFile);
        field("VmHWM:", m.peakRss);
    }
    return m;
}

MemoryWatch::MemoryWatch(int periodMs) : m_periodMs(periodMs)
{
    sample();
    m_thread = std::thread([this] {
        std::unique_lock<std::mutex> lock(m_mutex);
        while (!m_wake.wait_for(lock, std::chrono::milliseconds(m_periodMs), [this] { return m_stop; }))
            sample();
    });
}

MemoryWatch::~MemoryWatch() { stop(); }

void MemoryWatch::stop()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) {
        m_thread.join();
        sample();
    }
}

void MemoryWatch::sample()
{
    const MemoryFigures m = currentMemory();
    if (m.rssAnon > m_peakAnon.load())
        m_peakAnon = m.rssAnon;
    if (m.rssFile > m_peakFile.load())
        m_peakFile = m.rssFile;
}

int64_t MemoryWatch::peakRss() const { return currentMemory().peakRss; }

std::string formatGigabytes(int64_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.2f GB", static_cast<double>(bytes) / 1e9);
    return text;
}

} // namespace basis
