#pragma once
#include <ATen/core/Tensor.h>

#include <vector>

namespace basis {

// Keys and values of past positions, per layer, as [batch, kv_heads, positions, head_dim].
struct KVCache {
    std::vector<at::Tensor> keys, values;
    int64_t length = 0;   // positions already cached (the next token's position)

    void reset()
    {
        keys.clear();
        values.clear();
        length = 0;
    }
};

} // namespace basis
