// The four feature-space methods of issue 13 as registry entries: each projection gets its own rank (by energy,
// by a fraction of the break-even rank, or from a ranks file), and factors A (m x r), B (r x d), for sfsd a new
// bias. Their planner is planFeatureSpace, their factorizer compressFeatureSpace (feature_space_factorize.h).
#include "feature_space_settings.h"
#include "method_settings.h"

namespace basis {

namespace {

MethodSetting energySetting(double def, const std::string& help)
{
    return {setting::Energy, "Energy", MethodSetting::Type::Percent, def, 0, 1, help};
}

MethodSetting policySetting()
{
    return {setting::Policy, "Policy", MethodSetting::Type::Parts, 0, 0, 0,
            "Rank policy: uniform, qkv_heavier or mlp_heavier (r' = max(1, round(r x multiplier)), then break-even)"};
}

MethodSetting ranksSetting()
{
    return {setting::Ranks, "Ranks file", MethodSetting::Type::Parts, 0, 0, 0,
            "A ranks JSON (docs/RANKS_FILE.md, e.g. from basis-cli search): one rank per layer and part"};
}

class FeatureSpaceMethod : public CompressionMethod {
public:
    std::string factorizerName() const override { return "feature-space"; }
    bool groupsLayers() const override { return false; }
    bool featureSpace() const override { return true; }
};

class UtilizedMethod final : public FeatureSpaceMethod {
public:
    std::string name() const override { return "utilized"; }
    std::string displayName() const override { return "Utilized rank (output subspace)"; }
    std::string description() const override
    {
        return "Projects each projection onto the top eigenvectors U_r of its output Gram W G W^T (uncentred): "
               "A = U_r, B = U_r^T W, r the smallest rank whose energy reaches e (default 0.99). Reports each "
               "projection's utilization r / min(m, d) and their mean (MLU). A rank that would not save parameters "
               "(r (m + d) >= m d) leaves the projection dense.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {energySetting(0.99, "Energy e of the output Gram's eigenvalues kept, in (0, 1]"), ranksSetting(),
                policySetting(), privatePartsSetting()};
    }
};

class HybridMethod final : public FeatureSpaceMethod {
public:
    std::string name() const override { return "hybrid"; }
    std::string displayName() const override { return "Hybrid (utilized rank, weight SVD factors)"; }
    std::string description() const override
    {
        return "The rank of 'utilized' (energy e of W G W^T, default 0.99) with the factors of W's plain SVD "
               "W = P S Q^T: A = P_r, B = S_r Q_r^T.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {energySetting(0.99, "Energy e of the output Gram's eigenvalues kept, in (0, 1]"), ranksSetting(),
                policySetting(), privatePartsSetting()};
    }
};

class WeightSvdMethod final : public FeatureSpaceMethod {
public:
    std::string name() const override { return "weight-svd"; }
    std::string displayName() const override { return "Weight SVD by energy (no calibration)"; }
    std::string description() const override
    {
        return "Plain SVD of each projection at the smallest rank whose energy of W's squared singular values "
               "reaches e_w (default 0.9995): A = P_r, B = S_r Q_r^T. Needs no calibration.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::None; }
    std::vector<MethodSetting> settings() const override
    {
        return {energySetting(0.9995, "Energy e_w of W's squared singular values kept, in (0, 1]"), ranksSetting(),
                policySetting(), privatePartsSetting()};
    }
};

class SfsdMethod final : public FeatureSpaceMethod {
public:
    std::string name() const override { return "sfsd"; }
    std::string displayName() const override { return "SFSD (output principal components, mean corrected)"; }
    std::string description() const override
    {
        return "Surgical feature-space decomposition: V_r, the top eigenvectors of the output covariance "
               "W C_x W^T; A = V_r, B = V_r^T W and a new bias b' = b + (I - V_r V_r^T) W mu_x, so the output mean "
               "is kept. Rank max(1, floor(f kappa)) for a fraction f of the break-even rank kappa = floor(m d / "
               "(m + d)), or by energy e of the covariance (default 0.99), or from a ranks file "
               "(basis-cli search).";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {energySetting(0.99, "Energy e of the output covariance's eigenvalues kept, in (0, 1]"),
                {setting::Fraction, "Fraction", MethodSetting::Type::Percent, 0.5, 0, 1,
                 "Fraction f of the break-even rank, in (0, 1): r = max(1, floor(f kappa))"},
                ranksSetting(), policySetting(), privatePartsSetting()};
    }
};

} // namespace

const CompressionMethod& utilizedMethod() { static const UtilizedMethod m; return m; }
const CompressionMethod& hybridMethod() { static const HybridMethod m; return m; }
const CompressionMethod& weightSvdMethod() { static const WeightSvdMethod m; return m; }
const CompressionMethod& sfsdMethod() { static const SfsdMethod m; return m; }

} // namespace basis
