// One libFuzzer executable per target: BASIS_FUZZ_TARGET names it at compile time.
#include "fuzz_seeds.h"
#include "fuzz_targets.h"

#include <cstdlib>
#include <cstdio>

// The binary seeds are not kept in git: BASIS_FUZZ_WRITE_SEEDS=<folder> writes them there before fuzzing, so
//   BASIS_FUZZ_WRITE_SEEDS=/tmp/seeds fuzz_safetensors /tmp/seeds/safetensors fuzz/corpus/safetensors
// starts from every seed (libFuzzer adds new inputs to the first folder).
extern "C" int LLVMFuzzerInitialize(int*, char***)
{
    if (const char* dir = std::getenv("BASIS_FUZZ_WRITE_SEEDS"))
        std::fprintf(stderr, "wrote %d seeds under %s\n", basis::fuzz::writeGeneratedSeeds(dir), dir);
    return 0;
}

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
