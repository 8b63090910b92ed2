#pragma once
// What a user names a model by, mapped to the folder the engine loads. Three forms, for every front end (CLI
// --model, YAML model_path / model_name, the studio):
//   builtin:NAME          a model shipped in resources/ (resources.h), e.g. builtin:stories260k
//   a local folder        a Hugging Face checkpoint folder, used as it is
//   org/name[@revision]   a Hugging Face Hub name, found offline in the hub cache as transformers finds it:
//                         <cache>/models--org--name/snapshots/<commit of refs/<revision or main>>, whose files are
//                         symlinks into ../../blobs/ (the snapshot folder is returned; reads follow the links)
// Torch-free and Qt-free.
#include <filesystem>
#include <string>
#include <vector>

namespace basis {

struct ModelLocation {
    enum class Kind { Local, Builtin, HubCache } kind = Kind::Local;
    std::filesystem::path folder;     // what the engine loads
    std::string spec;                 // as given
    std::string description;          // one line: "builtin:stories260k: /…/resources/models/stories260K", ...
};

// The Hugging Face hub cache folders, in transformers' order of precedence: $HF_HUB_CACHE (or the older
// $HUGGINGFACE_HUB_CACHE), $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub. Only those
// whose variables are set; duplicates dropped. All are searched, first hit wins.
std::vector<std::filesystem::path> hubCacheDirs();

// "org/name" or "org/name@rev" in the Hub's repository-name alphabet (letters, digits, '-', '_', '.').
bool isHubName(const std::string& spec);
bool isBuiltinSpec(const std::string& spec);   // starts with "builtin:"

// Resolves a spec. Throws basis::Error naming the spec and every place looked in (each cache folder, the
// refs file, the snapshots) when it is not on this machine.
ModelLocation locateModel(const std::string& spec);

// locateModel(spec).folder.
std::filesystem::path resolveModelFolder(const std::string& spec);

} // namespace basis
