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

int64_t CompressionMethod::rankOf(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t groupSize,
                                  int64_t layers) const
{
    return groupRankFor(s.ratio, nIn, nOut, groupSize, layers);
}

int64_t CompressionMethod::storedBytes(const CompressionSettings&, int64_t nIn, int64_t nOut, int64_t k, int64_t layers,
                                       int64_t elementBytes) const
{
    return factoredWeights(nIn, nOut, k, layers) * elementBytes;
}

double CompressionMethod::bitsPerWeightFormula(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t k,
                                               int64_t layers, int64_t elementBytes) const
{
    return 8.0 * static_cast<double>(storedBytes(s, nIn, nOut, k, layers, elementBytes)) /
           static_cast<double>(nIn * nOut * layers);
}

bool CompressionMethod::uses(const std::string& settingKey) const
{
    const std::vector<MethodSetting> all = settings();
    return std::any_of(all.begin(), all.end(), [&](const MethodSetting& s) { return s.key == settingKey; });
}

} // namespace basis
