#include "quant_settings.h"

#include "error.h"

namespace basis {

void validateQuantSettings(const QuantSettings& q)
{
    if (q.bits != 2 && q.bits != 3 && q.bits != 4 && q.bits != 8)
        throw Error("bits must be 2, 3, 4 or 8, got " + std::to_string(q.bits));
    if (q.qStep != "rtn" && q.qStep != "ldlq")
        throw Error("q step must be rtn or ldlq, got '" + q.qStep + "'");
    if (q.iters < 1)
        throw Error("iters must be at least 1, got " + std::to_string(q.iters));
    if (q.rank < 0)
        throw Error("rank must be 0 or more, got " + std::to_string(q.rank));
    factorElementBytes(q.factorDtype);
}

int64_t factorElementBytes(const std::string& dtype)
{
    if (dtype == "float16" || dtype == "bfloat16")
        return 2;
    if (dtype == "float32")
        return 4;
    throw Error("factor dtype must be float16, bfloat16 or float32, got '" + dtype + "'");
}

int64_t quantizedProjectionBytes(int64_t m, int64_t d, int64_t k, const QuantSettings& q)
{
    const int64_t groups = (d + kQuantGroupColumns - 1) / kQuantGroupColumns;
    const int64_t packedRow = (d * q.bits + 7) / 8;
    return m * packedRow + m * groups * 2 * 2 + k * (m + d) * factorElementBytes(q.factorDtype);
}

double quantBitsPerWeightFormula(int64_t m, int64_t d, int64_t k, const QuantSettings& q)
{
    const double md = static_cast<double>(m) * static_cast<double>(d);
    return static_cast<double>(q.bits) + 32.0 / kQuantGroupColumns +
           8.0 * static_cast<double>(factorElementBytes(q.factorDtype)) * static_cast<double>(k) *
               static_cast<double>(m + d) / md;
}

} // namespace basis
