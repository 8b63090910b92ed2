#include "side_by_side.h"

#include <atomic>
#include <exception>
#include <mutex>

#include <omp.h>

namespace basis {

void runSideBySide(size_t count, int workers, const std::function<void(size_t)>& task,
                   const std::function<void()>& afterOwnTask)
{
    if (workers <= 1 || count <= 1) {
        for (size_t i = 0; i < count; ++i) {
            task(i);
            if (afterOwnTask)
                afterOwnTask();
        }
        return;
    }
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    std::exception_ptr error;
    std::mutex errorMutex;
    // No exception may leave an OpenMP region: each is caught and the first one kept.
#pragma omp parallel num_threads(workers)
    {
        const bool caller = omp_get_thread_num() == 0;
        while (!failed.load()) {
            const size_t i = next.fetch_add(1);
            if (i >= count)
                break;
            try {
                task(i);
                if (caller && afterOwnTask)
                    afterOwnTask();
            } catch (...) {
                std::lock_guard<std::mutex> lock(errorMutex);
                if (!error)
                    error = std::current_exception();
                failed.store(true);
            }
        }
    }
    if (error)
        std::rethrow_exception(error);
}

} // namespace basis
