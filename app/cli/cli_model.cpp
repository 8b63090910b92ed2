#include "cli_model.h"

#include "model_location.h"

#include <cstdio>

namespace basis::cli {

void resolveModelOptions(std::initializer_list<std::string*> specs)
{
    for (std::string* spec : specs) {
        if (spec->empty())
            continue;
        const ModelLocation loc = locateModel(*spec);
        if (loc.kind == ModelLocation::Kind::HubCache)   // which snapshot of the cache is used
            std::fprintf(stderr, "model %s\n", loc.description.c_str());
        *spec = loc.folder.string();
    }
}

} // namespace basis::cli
