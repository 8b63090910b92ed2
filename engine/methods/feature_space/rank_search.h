#pragma once
// The surgical rank search: from the last layer down (inside a layer, the architecture's projections in reverse),
// each projection takes the smallest candidate fraction f in {0.1, ..., 0.9} of its break-even rank whose model
// perplexity on the search tokens, with every earlier acceptance in place, stays <= base x (1 + delta); if none
// passes, it stays dense. Statistics stay the dense model's throughout. Every trial is written to the log, so a
// cancelled search run again with the same log continues where it stopped and ends with the same ranks.
#include "calibration.h"
#include "rank_search_options.h"

#include <functional>

namespace basis {

class DecoderModel;

using SearchTrialFn = std::function<void(const SearchTrial&)>;

// `model`: a dense copy the search factorizes in place (it ends with the accepted factorizations installed).
// `ids`: the search tokens. Writes options.out (ranks JSON) and the log atomically.
SearchSummary surgicalRankSearch(DecoderModel& model, const CalibrationStats& stats, const std::vector<int64_t>& ids,
                                 const SearchOptions& options, const JobContext& job = {},
                                 const SearchTrialFn& onTrial = {});

// The candidate fractions, 0.1 .. 0.9.
std::vector<double> searchFractions();

} // namespace basis
