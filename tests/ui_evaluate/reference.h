#pragma once
// What the engine itself computes for the settings the Evaluate and Generate tabs run, called directly (no
// window, no engine thread). Kept out of the Qt Test file: its .cpp includes LibTorch, which must not meet Qt's
// `slots` macro (TOOLCHAIN.md, pitfall 2).
#include <cstdint>
#include <filesystem>
#include <string>

namespace basis::uitest {

// basis::evaluatePerplexity of the dense model on a text file read as the GUI reads it (BOS policy auto).
double referencePerplexity(const std::filesystem::path& modelDir, const std::filesystem::path& text, int64_t context,
                           int64_t stride, const std::string& protocol);

// basis::generateGreedy's new tokens, decoded, for a prompt tokenized with BOS policy auto.
std::string referenceGeneration(const std::filesystem::path& modelDir, const std::string& prompt, int64_t maxNewTokens);

} // namespace basis::uitest
