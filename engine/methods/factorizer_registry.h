#pragma once
// Factorizers by the name a CompressionMethod gives in factorizerName().
#include "factorizer.h"

#include <string>

namespace basis {

// Throws basis::Error for a name no factorizer is registered under.
const Factorizer& factorizer(const std::string& name);

} // namespace basis
