// basis-cli synth: a randomly initialised checkpoint of a named (or customised) shape.
#include "cli_memory.h"
#include "commands.h"

#include "error.h"
#include "synth.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>

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
    DType dtype = DType::F32;
    if (a.dtype == "bfloat16" || a.dtype == "bf16")
        dtype = DType::BF16;
    else if (a.dtype == "float16" || a.dtype == "fp16")
        dtype = DType::F16;
    else if (a.dtype != "float32" && a.dtype != "fp32")
        throw Error("--dtype '" + a.dtype + "': expected float32, bfloat16 or float16");
    writeSyntheticCheckpoint(s, a.out, a.seed, a.tokenizer, dtype);
    std::printf("wrote %s: %s shape '%s' with RANDOM %s weights (seed %llu)%s\n", a.out.c_str(), s.arch.c_str(),
                s.name.c_str(), a.dtype.c_str(), (unsigned long long)a.seed, a.tokenizer.empty() ? "" : ", tokenizer copied");
    printMemory();   // written a tensor at a time: a 7B shape needs about one tensor of memory, not the model
    if (a.json) {
        std::error_code error;
        const auto bytes = std::filesystem::file_size(std::filesystem::path(a.out) / "model.safetensors", error);
        std::cout << nlohmann::json{{"out", a.out}, {"arch", s.arch}, {"shape", s.name}, {"dtype", a.dtype},
                                    {"seed", a.seed}, {"layers", s.layers}, {"hidden", s.hidden},
                                    {"intermediate", s.intermediate}, {"vocab", s.vocab},
                                    {"tokenizer_copied", !a.tokenizer.empty()},
                                    {"weights_bytes", error ? 0 : int64_t(bytes)}, {"memory", memoryJson()}}
                         .dump()
                  << std::endl;
    }
    return 0;
}

} // namespace basis::cli
