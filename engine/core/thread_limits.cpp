#include "thread_limits.h"

#include "error.h"

#include <thread>

#include <sched.h>

namespace basis {

int hardwareThreads()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set);
    const unsigned n = std::thread::hardware_concurrency();
    return n > 0 ? static_cast<int>(n) : 1;
}

void checkThreads(int threads, const std::string& what)
{
    const int max = hardwareThreads();
    if (threads < 0 || threads > max)
        throw Error(what + " " + std::to_string(threads) + " is outside 0.." + std::to_string(max) + ": this machine lets " +
                    "the process run " + std::to_string(max) + " thread(s) at once (0 = all of them)");
}

} // namespace basis
