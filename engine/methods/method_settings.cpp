#include "method_settings.h"

#include "compression_plan.h"

namespace basis {

MethodSetting ratioSetting()
{
    return {setting::Ratio, "Ratio", MethodSetting::Type::Percent, CompressionSettings{}.ratio, 0, 100,
            "Percent of the target projections' parameters removed, in (0, 100)"};
}

MethodSetting groupSizeSetting()
{
    return {setting::GroupSize, "Group size", MethodSetting::Type::Integer,
            static_cast<double>(CompressionSettings{}.groupSize), 1, 0,
            "Consecutive layers that share one basis for the shared parts, 1 to the model's layer count"};
}

MethodSetting sharedPartsSetting(const std::string& help)
{
    return {setting::SharedParts, "Shared parts", MethodSetting::Type::Parts, 0, 0, 0, help};
}

MethodSetting privatePartsSetting()
{
    return {setting::PrivateParts, "Private parts", MethodSetting::Type::Parts, 0, 0, 0,
            "Parts compressed layer by layer"};
}

MethodSetting updateSetting()
{
    return {setting::Update, "Update", MethodSetting::Type::Flag, CompressionSettings{}.update ? 1.0 : 0.0, 0, 1,
            "Refit coefficients on statistics of the compressed model"};
}

} // namespace basis
