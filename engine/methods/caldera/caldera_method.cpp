// The quantizing methods of issue 14: caldera (Q + L R fitted in the H-norm), and its k = 0 cases rtn (round to
// nearest) and gptq (ldlq, one iteration). Torch-free: names, settings, planner hooks and bytes as stored.
#include "compression_plan.h"
#include "error.h"
#include "method_settings.h"
#include "quant_settings.h"

namespace basis {

namespace {

MethodSetting bitsSetting()
{
    return {setting::Bits, "Bits", MethodSetting::Type::Integer, static_cast<double>(QuantSettings{}.bits), 2, 8,
            "Bits per code of the quantized matrix Q: 2, 3, 4 or 8"};
}

MethodSetting rankSetting()
{
    return {setting::Rank, "Rank", MethodSetting::Type::Integer, static_cast<double>(QuantSettings{}.rank), 0, 0,
            "Rank k of the low-rank correction L R, 0 to min(m, d) of every projection"};
}

MethodSetting qStepSetting()
{
    return {setting::QStep, "Q step", MethodSetting::Type::Choice, 0, 0, 0,
            "How Q is fitted: rtn rounds to nearest, ldlq feeds rounding errors forward through H (GPTQ)"};
}

MethodSetting itersSetting()
{
    return {setting::Iters, "Iterations", MethodSetting::Type::Integer, static_cast<double>(QuantSettings{}.iters), 1,
            100, "Alternations of the low-rank step and the Q step; the iterate with the smallest H-error is kept"};
}

MethodSetting factorDtypeSetting()
{
    return {setting::FactorDtype, "Factor dtype", MethodSetting::Type::Choice, 0, 0, 0,
            "Storage of L and R: float16, bfloat16 or float32"};
}

// Planner hooks shared by the three: one projection per layer, k from the settings, Q counted as m d weights.
class QuantizingMethod : public CompressionMethod {
public:
    std::string factorizerName() const override { return "caldera"; }
    bool groupsLayers() const override { return false; }
    bool allowsRankZero() const override { return true; }
    std::string storageLayout() const override { return "quantized-lowrank"; }
    int64_t rankOf(const CompressionSettings& s, int64_t, int64_t, int64_t, int64_t) const override { return s.quant.rank; }
    int64_t factoredWeights(int64_t nIn, int64_t nOut, int64_t k, int64_t layers) const override
    {
        return layers * (nIn * nOut + k * (nIn + nOut));
    }
    int64_t storedBytes(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t k, int64_t layers,
                        int64_t) const override
    {
        return layers * quantizedProjectionBytes(nOut, nIn, k, s.quant);
    }
    double bitsPerWeightFormula(const CompressionSettings& s, int64_t nIn, int64_t nOut, int64_t k, int64_t,
                                int64_t) const override
    {
        return quantBitsPerWeightFormula(nOut, nIn, k, s.quant);
    }
    void resolveSettings(CompressionSettings& s) const override
    {
        if (s.update)
            throw Error(name() + " has no update step (the coefficient refit is for factor methods)");
        fix(s.quant);
        validateQuantSettings(s.quant);
    }

protected:
    virtual void fix(QuantSettings&) const {}
};

class CalderaMethod final : public QuantizingMethod {
public:
    std::string name() const override { return "caldera"; }
    std::string displayName() const override { return "CALDERA (quantized + low rank)"; }
    std::string description() const override
    {
        return "W ~ Q + L R per projection and layer: Q quantized to b bits in groups of 64 input columns, L R of "
               "rank k in 16 bits, alternately fitted to minimise ||(W - Q - L R) X^T|| (the low-rank step in the "
               "H-norm, the Q step by rtn or ldlq), keeping the best iterate. Needs x^T x calibration statistics.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {bitsSetting(), rankSetting(), qStepSetting(), itersSetting(), factorDtypeSetting(),
                sharedPartsSetting("Parts compressed, layer by layer"), privatePartsSetting()};
    }
};

class RtnMethod final : public QuantizingMethod {
public:
    std::string name() const override { return "rtn"; }
    std::string displayName() const override { return "RTN (round to nearest)"; }
    std::string description() const override
    {
        return "Every weight rounded to nearest on b bits, asymmetric min-max per group of 64 input columns of a "
               "row (caldera with k = 0 and the rtn step). Needs no calibration; its per-projection error is "
               "the unwhitened relative error (H = I).";
    }
    MethodStatistics statistics() const override { return MethodStatistics::None; }
    std::vector<MethodSetting> settings() const override
    {
        return {bitsSetting(), sharedPartsSetting("Parts quantized, layer by layer"), privatePartsSetting()};
    }

protected:
    void fix(QuantSettings& q) const override
    {
        q.rank = 0;
        q.qStep = "rtn";
        q.iters = 1;
    }
};

class GptqMethod final : public QuantizingMethod {
public:
    std::string name() const override { return "gptq"; }
    std::string displayName() const override { return "GPTQ (quantized with error feedback)"; }
    std::string description() const override
    {
        return "b-bit quantization in groups of 64 input columns, column by column, each rounding error fed "
               "forward through the Cholesky factor of H^-1 (caldera with k = 0 and the ldlq step, one "
               "iteration). Needs x^T x calibration statistics.";
    }
    MethodStatistics statistics() const override { return MethodStatistics::InputGram; }
    std::vector<MethodSetting> settings() const override
    {
        return {bitsSetting(), sharedPartsSetting("Parts quantized, layer by layer"), privatePartsSetting()};
    }

protected:
    void fix(QuantSettings& q) const override
    {
        q.rank = 0;
        q.qStep = "ldlq";
        q.iters = 1;
    }
};

} // namespace

const CompressionMethod& calderaMethod()
{
    static const CalderaMethod m;
    return m;
}

const CompressionMethod& rtnMethod()
{
    static const RtnMethod m;
    return m;
}

const CompressionMethod& gptqMethod()
{
    static const GptqMethod m;
    return m;
}

} // namespace basis
