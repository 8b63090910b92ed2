#pragma once
// The settings of the quantizing methods (caldera, rtn, gptq): one field of CompressionSettings, so plain data that
// configs, the CLI and the studio copy. Torch-free.
#include <cstdint>
#include <string>

namespace basis {

struct QuantSettings {
    int64_t bits = 4;                    // b of Q: 2, 3, 4 or 8
    int64_t rank = 8;                    // k of L R (caldera; rtn and gptq resolve it to 0)
    std::string qStep = "rtn";           // rtn (round to nearest) or ldlq (GPTQ-style error feedback with H)
    int64_t iters = 10;                  // alternations of the LR step and the Q step (rtn and gptq: 1)
    std::string factorDtype = "float16"; // storage of L and R: float16, bfloat16 or float32
};

// Keys of the quantizing methods' settings (method.h's setting::*, YAML keys of the same name).
namespace setting {
inline constexpr const char* Bits = "bits";                 // QuantSettings::bits
inline constexpr const char* Rank = "rank";                 // QuantSettings::rank
inline constexpr const char* QStep = "q_step";              // QuantSettings::qStep
inline constexpr const char* Iters = "iters";               // QuantSettings::iters
inline constexpr const char* FactorDtype = "factor_dtype";  // QuantSettings::factorDtype
} // namespace setting

inline constexpr int64_t kQuantGroupColumns = 64;   // consecutive input columns sharing one scale and zero

// Throws basis::Error naming the setting for bits outside {2,3,4,8}, an unknown q step or factor dtype, iters < 1
// or a negative rank.
void validateQuantSettings(const QuantSettings& q);

// Bytes of one factor element stored as `factorDtype` (2 or 4).
int64_t factorElementBytes(const std::string& factorDtype);

// Bytes of one m x d projection stored as packed b-bit codes (each row padded to a whole byte), a float16 scale
// and zero per group of 64 input columns (the last may be shorter) and L (m x k), R (k x d) as factorDtype.
int64_t quantizedProjectionBytes(int64_t m, int64_t d, int64_t k, const QuantSettings& q);

// The bits per weight: b + 32 / 64 + 16 k (m + d) / (m d) (16 replaced by 8 x the factor's bytes).
double quantBitsPerWeightFormula(int64_t m, int64_t d, int64_t k, const QuantSettings& q);

} // namespace basis
