#pragma once
// The registered compression methods, in the order the studio's Method box and the CLI's help list them.
#include "method.h"

#include <string>
#include <vector>

namespace basis {

std::vector<const CompressionMethod*> methods();
// The method called `name`; throws basis::Error "unknown method 'x' (registered: a, b, c)".
const CompressionMethod& method(const std::string& name);
const CompressionMethod* findMethod(const std::string& name);   // null when none is called that
std::string methodNames();                                        // "basis-sharing, svd-llm, svd"

} // namespace basis
