#pragma once
// The settings every built-in method shares, described once (defaults from CompressionSettings), so that methods
// list them instead of repeating labels and help.
#include "method.h"

namespace basis {

MethodSetting ratioSetting();
MethodSetting groupSizeSetting();
MethodSetting sharedPartsSetting(const std::string& help);
MethodSetting privatePartsSetting();
MethodSetting updateSetting();

} // namespace basis
