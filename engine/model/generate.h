#pragma once
// Greedy decoding with the KV cache.
#include "progress.h"

#include <cstdint>
#include <functional>
#include <vector>

namespace basis {

class DecoderModel;

struct GenerateOptions {
    int64_t maxNewTokens = 64;
    bool stopAtEos = true;
    // Called with each new token as it is produced (for streaming output); may be empty.
    std::function<void(int64_t token)> onToken;
};

struct GenerateResult {
    std::vector<int64_t> tokens;     // prompt followed by the new tokens
    int64_t promptTokens = 0;
    double prefillSeconds = 0, decodeSeconds = 0;
};

// prompt must hold at least one token (BOS for an empty prompt).
GenerateResult generateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              const GenerateOptions& options, const JobContext& job = {});

} // namespace basis
