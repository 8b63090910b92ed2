#pragma once
// What the engine itself computes for the settings the Evaluate and Generate tabs run, called directly (no
// window, no engine thread). Kept out of the Qt Test file: its .cpp includes LibTorch, which must not meet Qt's
// `slots` macro (docs/ARCHITECTURE.md, "Why the studio never sees LibTorch").
#include <cstdint>
#include <filesystem>
#include <string>

namespace basis::uitest {

// basis::evaluatePerplexity of the dense model on a text file read as the GUI reads it (BOS policy auto).
double referencePerplexity(const std::filesystem::path& modelDir, const std::filesystem::path& text, int64_t context,
                           int64_t stride, const std::string& protocol);

// basis::generateGreedy's new tokens, decoded, for a prompt tokenized with BOS policy auto.
std::string referenceGeneration(const std::filesystem::path& modelDir, const std::string& prompt, int64_t maxNewTokens);

struct ReferenceTasks {
    int64_t items = 0;
    double acc = 0, accNorm = 0, accStderr = -1, accNormStderr = -1;   // -1: undefined
};
// basis::evaluateMultipleChoice of the dense model on the first `limit` documents of a task file (default options).
ReferenceTasks referenceTasks(const std::filesystem::path& modelDir, const std::string& task,
                              const std::filesystem::path& file, int64_t limit);

// Tokens basis::calibrateFromText collects for a text (sequential, BOS auto, no cache).
int64_t referenceCalibrationTokens(const std::filesystem::path& modelDir, const std::filesystem::path& text,
                                   int64_t samples, int64_t context);

} // namespace basis::uitest
