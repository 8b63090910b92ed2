#pragma once
// Evaluations under a dynamic-rank strategy (dynamic_rank.h): perplexity with the prompt protocol, and the mask
// capture behind the studio's heatmaps and `eval masks`. Torch-free header (job results carry these).
#include "perplexity.h"
#include "progress.h"
#include "rank_strategy.h"

#include <cstdint>
#include <string>
#include <vector>

namespace basis {

class DecoderModel;

// Perplexity so that no strategy sees a token it scores and every strategy scores the same tokens: disjoint
// windows of options.context tokens; in each, the first P = settings.promptTokens run at full rank (they choose
// prompt-adaptive's S) and are not scored; tokens P .. len-2 then run under the strategy through the KV cache
// and predict tokens P+1 .. len-1, which are scored. (Token P itself is predicted by the prompt's last position,
// at full rank for every strategy, so it is left out too.) Windows shorter than P + 2 are skipped. The rank
// statistics count the tokens run under the strategy; the energies are measured (z in full).
struct RankPplResult {
    PplResult ppl;
    RankRunStatistics rank;
    int64_t skippedWindows = 0;
};
// `scoredPositions`, when given, receives the stream position of every scored target (tests).
RankPplResult evaluateRankPerplexity(DecoderModel& model, const std::vector<int64_t>& ids, const PplOptions& options,
                                     const RankSettings& settings, const JobContext& job = {},
                                     std::vector<int64_t>* scoredPositions = nullptr);

// One projection's masks over the tokens of a text.
struct RankMaskSummary {
    int64_t layer = 0;
    std::string part;
    int64_t rank = 0;                  // K
    int64_t tokens = 0;
    std::vector<uint8_t> keep;         // [tokens][K], 1 = computed
    std::vector<float> energy;         // [tokens][K], e_tj
    std::vector<int64_t> kPerToken;
    std::vector<double> keepFrequency; // [K], the share of tokens that keep each channel
    double meanK = 0, energyKept = 1;
    double meanBlocks = 0;             // contiguous runs of kept channels per token
    double contiguousShare = 0;        // tokens whose kept set is one contiguous block
    double prefixShare = 0;            // ... that block starting at channel 0
};

struct RankMaskCapture {
    RankRunStatistics rank;
    std::vector<RankMaskSummary> masks;   // every factorized projection, layer by layer in table order
    double contiguousShare = 0, prefixShare = 0, meanBlocks = 0;   // over every projection and token
};

// Runs the text once under the strategy (prompt-adaptive: S chosen from the whole text, its prefill) and keeps
// every token's mask and energies.
RankMaskCapture captureRankMasks(DecoderModel& model, const std::vector<int64_t>& ids, const RankSettings& settings,
                                 const JobContext& job = {});

} // namespace basis
