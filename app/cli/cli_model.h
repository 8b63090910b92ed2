#pragma once
// --model (and --compare) accept what every front end accepts: a folder, builtin:stories260k, or a Hugging Face
// name org/name[@revision] found in the local hub cache (model_location.h).
#include <initializer_list>
#include <string>

namespace basis::cli {

inline constexpr const char* kModelHelp =
    "Model: a Hugging Face folder, builtin:stories260k, or a Hub name org/name[@revision] from the local cache";

// Replaces each non-empty spec by its folder, telling stderr which snapshot a Hub name resolved to.
// Throws basis::Error naming every place looked in.
void resolveModelOptions(std::initializer_list<std::string*> specs);

} // namespace basis::cli
