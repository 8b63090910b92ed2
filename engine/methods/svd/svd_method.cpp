// Plain truncated SVD of each layer's weights at Basis Sharing's ranks: the baseline that needs no calibration.
#include "method_settings.h"

namespace basis {

namespace {

class SvdMethod final : public CompressionMethod {
public:
    std::string name() const override { return "svd"; }
    std::string displayName() const override { return "SVD (plain, no calibration)"; }
    std::string description() const override
    {
        return "Plain truncated SVD of each layer's weights at the same ranks, layer by layer (group size 1); "
               "needs no calibration (an update still collects statistics on the compressed model).";
    }
    MethodStatistics statistics() const override { return MethodStatistics::None; }
    std::vector<MethodSetting> settings() const override
    {
        return {ratioSetting(), sharedPartsSetting("Parts compressed, layer by layer as private parts are (no groups)"),
                privatePartsSetting(), updateSetting()};
    }
    std::string factorizerName() const override { return "plain-svd"; }
    bool groupsLayers() const override { return false; }
};

} // namespace

const CompressionMethod& svdMethod()
{
    static const SvdMethod m;
    return m;
}

} // namespace basis
