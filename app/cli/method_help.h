#pragma once
// --help text read from the registered compression methods (engine/methods), so that a new method shows up in
// `basis-cli compress --help` without an edit here.
#include <string>

namespace basis::cli {

std::string methodFlagHelp();                  // "basis-sharing, svd-llm or svd"
std::string methodsFooter();                   // "Methods:" then each name, display name and description
// The help of setting `key` (method.h's setting::*) as the first method listing it gives it, with the methods that
// read it when not all do.
std::string settingHelp(const char* key);

} // namespace basis::cli
