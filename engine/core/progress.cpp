#include "progress.h"

#include "error.h"

namespace basis {

void JobContext::checkCancelled() const
{
    if (cancel && cancel->isCancelled())
        throw Cancelled();
}

} // namespace basis
