#pragma once
// The quantizer Q_b of the quantizing methods, exactly as issue 14 defines it: round to nearest per group of 64
// consecutive input columns of each output row (the last group of a row may be shorter), asymmetric min-max
// scale and zero; and the two Q steps, rtn (Q_b) and ldlq (GPTQ-style error feedback with H).
// Every function is vectorised over rows: no per-element loop over the matrix.
// W is m x d (y = W x), float64 on the CPU.
#include <ATen/core/Tensor.h>

#include <cstdint>

namespace basis {

struct QuantizedRows {
    int64_t bits = 0;
    at::Tensor codes;    // uint8 m x d, each in [0, 2^b - 1]
    at::Tensor scales;   // float16 m x G, G = ceil(d / 64)
    at::Tensor zeros;    // float16 m x G
};

// Scale and zero (float64, m) of each row of `block` (m x c, c <= 64): scale = (max - min) / (2^b - 1), 1 when
// max == min; zero = round(-min / scale). Both are rounded through float16, the precision they are stored in, so
// that the Q the algorithm sees is the Q that is saved (a scale that float16 rounds to 0 becomes 1, as a
// constant group's does; a zero beyond float16's range is clamped to +-65504).
void groupScaleZero(const at::Tensor& block, int64_t bits, at::Tensor& scale, at::Tensor& zero);

// q = clamp(round(w / scale) + zero, 0, 2^b - 1) for columns w (m x c) with per-row scale and zero (m).
at::Tensor quantizeColumns(const at::Tensor& w, const at::Tensor& scale, const at::Tensor& zero, int64_t bits);

// Q_b(w): the `rtn` Q step.
QuantizedRows quantizeRtn(const at::Tensor& w, int64_t bits);

// The `ldlq` Q step with H (d x d, float64): H_d = H + 0.01 mean(diag H) I, U = the upper Cholesky factor of
// H_d^-1; columns in order, each group's scale and zero from the current columns of E at its first column, the
// rounding error of column j divided by U[j, j] fed back into the later columns through U[j, j+1:]. The feedback
// is applied lazily per 64-column block (the same arithmetic, in block GEMMs).
QuantizedRows quantizeLdlq(const at::Tensor& w, const at::Tensor& h, int64_t bits);

// w_hat = (q - zero) scale, m x d, as float64 (the algorithm's Q) or any dtype (the model's).
at::Tensor dequantizeRows(const QuantizedRows& q, c10::ScalarType dtype);

// Codes (uint8 m x d, < 2^b) as one little-endian bit stream per row: code j takes bits j*b .. j*b+b-1 of the
// row, bit i of the row is bit (i % 8) of byte i / 8; each row is padded to a whole byte: m x ceil(d b / 8) uint8.
at::Tensor packCodes(const at::Tensor& codes, int64_t bits);
at::Tensor unpackCodes(const at::Tensor& packed, int64_t columns, int64_t bits);

} // namespace basis
