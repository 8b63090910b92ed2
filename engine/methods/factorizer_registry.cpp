#include "factorizer_registry.h"

#include "error.h"

namespace basis {

// Each factorizer's folder defines its function; registering one is a line here and a line in factorizer().
const Factorizer& whitenedSvdFactorizer();   // basis_sharing/, also svd-llm's
const Factorizer& plainSvdFactorizer();      // svd/

const Factorizer& factorizer(const std::string& name)
{
    if (name == "whitened-svd")
        return whitenedSvdFactorizer();
    if (name == "plain-svd")
        return plainSvdFactorizer();
    throw Error("internal: no factorizer registered as '" + name + "'");
}

} // namespace basis
