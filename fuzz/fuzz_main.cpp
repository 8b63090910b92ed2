// One libFuzzer executable per target: BASIS_FUZZ_TARGET names it at compile time.
#include "fuzz_targets.h"

#include <cstdlib>
#include <cstdio>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const basis::fuzz::Target target = [] {
        const basis::fuzz::Target t = basis::fuzz::targetNamed(BASIS_FUZZ_TARGET);
        if (!t) {
            std::fprintf(stderr, "unknown fuzz target %s\n", BASIS_FUZZ_TARGET);
            std::abort();
        }
        return t;
    }();
    target(data, size);
    return 0;
}
