// SVD-LLM: the whitened SVD of Basis Sharing with one layer per group (its truncation-aware whitening).
#include "method_settings.h"

namespace basis {

namespace {

class SvdLlmMethod final : public CompressionMethod {
public:
    std::string name() const override { return "svd-llm"; }
    std::string displayName() const override { return "SVD-LLM (whitened SVD per layer)"; }
    std::string description() const override
    {
        return "The same whitened SVD with one layer per group: every compressed part, shared ones too, is "
               "factorized layer by layer, so the group size is 1. Needs x^T x calibration statistics.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {ratioSetting(), sharedPartsSetting("Parts compressed, layer by layer as private parts are (no groups)"),
                privatePartsSetting(), updateSetting()};
    }
    std::string factorizerName() const override { return "whitened-svd"; }
    bool groupsLayers() const override { return false; }
};

} // namespace

const CompressionMethod& svdLlmMethod()
{
    static const SvdLlmMethod m;
    return m;
}

} // namespace basis
