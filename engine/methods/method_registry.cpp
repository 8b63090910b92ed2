#include "method_registry.h"

#include "error.h"

namespace basis {

// Each method's folder defines its function; registering a method is one line here and one below.
const CompressionMethod& basisSharingMethod();
const CompressionMethod& svdLlmMethod();
const CompressionMethod& svdMethod();
const CompressionMethod& calderaMethod();   // caldera/: caldera, rtn, gptq
const CompressionMethod& rtnMethod();
const CompressionMethod& gptqMethod();
const CompressionMethod& utilizedMethod();    // feature_space/
const CompressionMethod& hybridMethod();
const CompressionMethod& weightSvdMethod();
const CompressionMethod& sfsdMethod();

std::vector<const CompressionMethod*> methods()
{
    // An explicit list, not self-registering statics: a static library drops objects nothing refers to.
    return {&basisSharingMethod(), &svdLlmMethod(), &svdMethod(),
            &calderaMethod(), &rtnMethod(), &gptqMethod(),
            &utilizedMethod(), &hybridMethod(), &weightSvdMethod(), &sfsdMethod()};
}

const CompressionMethod* findMethod(const std::string& name)
{
    for (const CompressionMethod* m : methods())
        if (m->name() == name)
            return m;
    return nullptr;
}

const CompressionMethod& method(const std::string& name)
{
    if (const CompressionMethod* m = findMethod(name))
        return *m;
    throw Error("unknown method '" + name + "' (registered: " + methodNames() + ")");
}

std::string methodNames()
{
    std::string s;
    for (const CompressionMethod* m : methods())
        s += (s.empty() ? "" : ", ") + m->name();
    return s;
}

} // namespace basis
