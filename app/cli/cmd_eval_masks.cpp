// basis-cli eval masks: which rank channels a dynamic-rank strategy computes for each token of a text, per layer and
// part, with the block-sparsity statistics (eval masks --json carries the masks themselves).
#include "cli_progress.h"
#include "cli_rank.h"
#include "commands.h"

#include "error.h"
#include "workspace.h"

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runEvalMasks(const MasksArgs& a)
{
    if (a.masks.text.empty())
        throw Error("eval masks needs --text TEXT (the prompt itself)");
    Workspace ws;
    ws.load(a.model, a.run, loadJob());
    StderrProgress progress("masks");
    const RankMasksSummary s = ws.rankMasks(a.masks, cliJob(progress));
    progress.finish();
    const RankMaskCapture& c = s.capture;
    std::printf("%zu tokens; contiguous kept sets %.1f%% of token masks, prefixes %.1f%%, %.2f blocks per token\n",
                s.tokens.size(), 100 * c.contiguousShare, 100 * c.prefixShare, c.meanBlocks);
    printRank(c.rank);
    if (a.json) {
        nlohmann::json masks = nlohmann::json::array();
        for (const RankMaskSummary& m : c.masks) {
            nlohmann::json rows = nlohmann::json::array();   // one string of 0/1 per token
            for (int64_t t = 0; t < m.tokens; ++t) {
                std::string row(static_cast<size_t>(m.rank), '0');
                for (int64_t j = 0; j < m.rank; ++j)
                    row[static_cast<size_t>(j)] = m.keep[static_cast<size_t>(t * m.rank + j)] ? '1' : '0';
                rows.push_back(row);
            }
            masks.push_back({{"layer", m.layer}, {"part", m.part}, {"rank", m.rank}, {"mean_k", m.meanK},
                             {"energy_kept", m.energyKept}, {"k_per_token", m.kPerToken}, {"keep", rows},
                             {"keep_frequency", m.keepFrequency}, {"mean_blocks", m.meanBlocks},
                             {"contiguous_share", m.contiguousShare}, {"prefix_share", m.prefixShare}});
        }
        nlohmann::json j = {{"model", a.model}, {"tokens", s.tokens}, {"rank", rankJson(c.rank)},
                            {"contiguous_share", c.contiguousShare}, {"prefix_share", c.prefixShare},
                            {"mean_blocks", c.meanBlocks}, {"masks", masks}};
        std::cout << j.dump() << std::endl;
    }
    return 0;
}

} // namespace basis::cli
