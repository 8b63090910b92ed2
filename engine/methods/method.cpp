#include "method.h"

#include "compression_plan.h"

#include <algorithm>

namespace basis {

int64_t CompressionMethod::groupRankFor(double ratio, int64_t nIn, int64_t nOut, int64_t groupSize, int64_t layers) const
{
    return groupRank(ratio, nIn, nOut, groupSize, layers);
}

int64_t CompressionMethod::factoredWeights(int64_t nIn, int64_t nOut, int64_t k, int64_t layers) const
{
    return nIn * k + layers * k * nOut;
}

bool CompressionMethod::uses(const std::string& settingKey) const
{
    const std::vector<MethodSetting> all = settings();
    return std::any_of(all.begin(), all.end(), [&](const MethodSetting& s) { return s.key == settingKey; });
}

} // namespace basis
