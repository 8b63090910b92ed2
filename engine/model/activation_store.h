#pragma once
// Where streamed calibration (calibration.h) keeps the activations of every sample at the current layer's input:
// in memory, or in a scratch file on disk. The file is memory-mapped shared, so its pages are file-backed: under
// memory pressure the kernel writes them out and drops them instead of the process running out of memory, and
// they are not anonymous memory (RssAnon). The file is unlinked as soon as it is mapped: nothing is left behind,
// even by a killed run, and its space is returned when the store is destroyed.
#include "activation_place.h"

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace basis {

class ActivationStore {
public:
    // `onDisk`: a scratch file of every batch's bytes in `folder`, its space reserved before anything is written
    // (basis::Error naming the folder and the bytes when the disk lacks it).
    ActivationStore(bool onDisk, const std::filesystem::path& folder);
    ~ActivationStore();
    ActivationStore(const ActivationStore&) = delete;
    ActivationStore& operator=(const ActivationStore&) = delete;

    // On disk the sizes must be known before the file is made: `reserve` once with every batch's shape.
    void reserve(const std::vector<std::vector<int64_t>>& shapes, c10::ScalarType dtype);
    size_t size() const { return m_batches.size(); }
    // Batch b: in memory the tensor last put; on disk a CPU view of its bytes in the mapping.
    at::Tensor get(size_t b) const;
    // In memory keeps x; on disk copies x (of the reserved shape and dtype, any device) into the mapping.
    void put(size_t b, const at::Tensor& x);
    bool onDisk() const { return m_onDisk; }
    int64_t bytes() const { return m_bytes; }

private:
    bool m_onDisk = false;
    std::filesystem::path m_folder;
    std::vector<at::Tensor> m_batches;
    void* m_map = nullptr;
    int64_t m_bytes = 0;
};

} // namespace basis
