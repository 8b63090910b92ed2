#pragma once
// The binary seeds of the fuzz corpus, written by the engine's own writers rather than kept in git: a safetensors
// file with two tensors and one with every dtype, a vocab+merges pair, and a calibration cache of the micro LLaMA.
// test_fuzz_corpus replays them beside the text seeds in fuzz/corpus/; a libFuzzer run gets them with
// BASIS_FUZZ_WRITE_SEEDS=<folder> (see fuzz_main.cpp).
#include <filesystem>

namespace basis::fuzz {

// Writes <root>/<target>/<seed> for the targets whose seeds are binary; returns the number of files written.
int writeGeneratedSeeds(const std::filesystem::path& root);

} // namespace basis::fuzz
