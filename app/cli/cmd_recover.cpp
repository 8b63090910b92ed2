// basis-cli recover: repair what a killed save left beside an output folder (the next save does it too).
#include "cli_progress.h"
#include "commands.h"

#include "output_folder.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

namespace basis::cli {

int runRecover(const RecoverArgs& a)
{
    std::vector<std::string> actions;
    {
        OutputLock lock(a.out, logLine);
        recoverOutputLeftovers(a.out, [&](const std::string& line) {
            actions.push_back(line);
            logLine(line);
        });
    }
    if (actions.empty())
        std::printf("%s: nothing to recover\n", a.out.c_str());
    if (a.json)
        std::cout << nlohmann::json{{"out", resolveOutputPath(a.out).string()}, {"actions", actions}}.dump() << std::endl;
    return 0;
}

} // namespace basis::cli
