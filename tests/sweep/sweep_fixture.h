#pragma once
// A small real setting for sweeps: stories260K, 8 chunks of 128 tokens of calib.txt, and the first 12 kB of
// eval.txt (about 3,500 tokens) as the evaluation text, so a run takes a second or two.
#include "test_support.h"

#include "atomic_file.h"
#include "run_config.h"

#include <filesystem>
#include <string>

namespace basis::test {

inline const char* kSweepStories = "models/stories260K/hf";
inline const char* kSweepCalib = "data/tinystories-valid/calib.txt";
inline const char* kSweepEval = "data/tinystories-valid/eval.txt";

// The first `bytes` of eval.txt, cut at a line end, as a file in `dir`.
inline std::filesystem::path shortEvalText(const std::filesystem::path& dir, size_t bytes = 12000)
{
    std::string text = basis::readFile(sharedPath(kSweepEval));
    text = text.substr(0, text.rfind('\n', bytes) + 1);
    const auto file = dir / "eval_head.txt";
    basis::writeFileAtomically(file, text);
    return file;
}

// A sweep config over the short texts; `sweep` is the body of the sweep: section (YAML, indented by 2).
inline basis::RunConfig sweepConfig(const std::filesystem::path& dir, const std::string& sweep, int64_t samples = 8)
{
    const std::string yaml = "model_args:\n  context_length: 128\n  stride: 128\n  group_size: 1\n"
                             "calibration_args:\n  calibration_size: " + std::to_string(samples) + "\n  calib_batch_size: 8\n"
                             "basis_studio:\n  model_path: builtin:stories260k\n  calibration_text: " +
                             sharedPath(kSweepCalib).string() + "\n  evaluate:\n    - ppl: {text: " +
                             shortEvalText(dir).string() + ", protocol: window-mean}\n"
                             "sweep:\n" + sweep + "  results: " + (dir / "results.jsonl").string() + "\n";
    return basis::parseRunConfig(yaml, "sweep.yaml").config;
}

} // namespace basis::test
