#pragma once
// Where a streamed calibration keeps the activations of every sample (engine/model/activation_store.h), and the
// rule `auto` follows. Torch-free, so that the studio's memory check applies the engine's rule.
#include <cstdint>
#include <string>

namespace basis {

enum class ActivationPlace { Auto, Memory, Disk };
std::string activationPlaceName(ActivationPlace place);
// Throws basis::Error naming the value and the choices.
ActivationPlace parseActivationPlace(const std::string& name);

// Auto goes to disk when the activations take more than half of the memory available (MemAvailable, `available`
// bytes; 0 = unknown: memory), leaving the rest to the layer's weights and statistics.
bool activationsOnDisk(ActivationPlace place, int64_t bytes, int64_t available);

} // namespace basis
