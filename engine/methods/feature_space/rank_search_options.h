#pragma once
// The surgical rank search's options and results (issue 13), torch-free so that the Workspace header, the CLI and
// the studio carry them as they are. The engine half is rank_search.h.
#include "feature_space_settings.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace basis {

struct SearchOptions {
    std::string method = "sfsd";          // any feature-space method factorizes the candidates
    std::filesystem::path searchText;     // empty: the calibration text
    int64_t searchTokens = 32768;         // the first N tokens of the search text
    int64_t context = 0;                  // window (= stride); 0: the calibration's context
    double delta = 0.01;                  // accept while ppl <= base x (1 + delta), base = the dense model's
    int64_t startLayer = 0;               // layers below it stay dense
    std::filesystem::path out;            // the ranks JSON (docs/RANKS_FILE.md)
    std::filesystem::path log;            // the trial log (JSON lines); empty: out + ".log"
    bool restart = false;                 // discard a log of an earlier search instead of resuming it
};

struct SearchTrial {
    int64_t layer = 0;
    std::string part;
    double fraction = 0;                  // of the break-even rank kappa
    int64_t rank = 0;
    double ppl = 0;                       // window-mean perplexity on the search tokens with this candidate in place
    int64_t parameters = 0;               // of the whole model with this candidate in place
    bool accepted = false;
    bool resumed = false;                 // read back from the log, not run again
};

struct SearchSummary {
    double basePpl = 0, finalPpl = 0;
    int64_t searchTokens = 0;
    std::vector<SearchTrial> trials;      // in the order they were made
    RankTable ranks;                      // per part and layer; kDenseRank where no candidate passed
    int64_t parametersBefore = 0, parametersAfter = 0;
    int64_t resumedTrials = 0;            // trials read back from the log
    std::filesystem::path out, log;
    double seconds = 0;
};

} // namespace basis
