// Basis Sharing: the layers of a group share one whitened-SVD basis, each keeps its own coefficients.
#include "method_settings.h"

namespace basis {

namespace {

class BasisSharingMethod final : public CompressionMethod {
public:
    std::string name() const override { return "basis-sharing"; }
    std::string displayName() const override { return "Basis Sharing"; }
    std::string description() const override
    {
        return "The layers of a group share one whitened-SVD basis, each keeps its own coefficients: shared parts "
               "are factorized over groups of consecutive layers, private parts layer by layer. Needs x^T x "
               "calibration statistics.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {ratioSetting(), groupSizeSetting(),
                sharedPartsSetting("Parts whose layers share one basis per group (default: the published choice)"),
                privatePartsSetting(), updateSetting()};
    }
    std::string factorizerName() const override { return "whitened-svd"; }
    bool groupsLayers() const override { return true; }
};

} // namespace

const CompressionMethod& basisSharingMethod()
{
    static const BasisSharingMethod m;
    return m;
}

} // namespace basis
