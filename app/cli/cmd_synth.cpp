// basis-cli synth: a randomly initialised checkpoint of a named (or customised) shape.
#include "commands.h"

#include "synth.h"

#include <cstdio>

namespace basis::cli {

int runSynth(const SynthArgs& a)
{
    SynthShape s = synthPreset(a.shape);
    bool custom = false;
    auto over = [&](int64_t& field, int64_t value) {
        if (value > 0 && value != field) {
            field = value;
            custom = true;
        }
    };
    over(s.layers, a.layers);
    over(s.hidden, a.hidden);
    over(s.heads, a.heads);
    over(s.kvHeads, a.kvHeads);
    over(s.intermediate, a.intermediate);
    over(s.vocab, a.vocab);
    over(s.maxPositions, a.maxPositions);
    if (!architecture(s.arch).separateKvHeads)
        s.kvHeads = s.heads;
    if (custom)
        s.name += "-custom";
    writeSyntheticCheckpoint(s, a.out, a.seed, a.tokenizer);
    std::printf("wrote %s: %s shape '%s' with RANDOM weights (seed %llu)%s\n", a.out.c_str(), s.arch.c_str(),
                s.name.c_str(), (unsigned long long)a.seed, a.tokenizer.empty() ? "" : ", tokenizer copied");
    return 0;
}

} // namespace basis::cli
