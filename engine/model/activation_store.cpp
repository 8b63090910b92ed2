#include "activation_store.h"

#include "error.h"
#include "memory_estimate.h"
#include "safetensors.h"

#include <ATen/ATen.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace basis {

namespace fs = std::filesystem;

namespace {

// The shared mapping, unmapped when the store and every view of it are gone.
struct Mapping {
    void* data = nullptr;
    size_t bytes = 0;
    ~Mapping()
    {
        if (data)
            ::munmap(data, bytes);
    }
};

std::string reason(int error) { return std::strerror(error); }

} // namespace

ActivationStore::ActivationStore(bool onDisk, const fs::path& folder) : m_onDisk(onDisk), m_folder(folder)
{
    if (onDisk && folder.empty())
        throw Error("calibration activations on disk need a folder for their scratch file (calibrate into a cache folder)");
}

ActivationStore::~ActivationStore() = default;

void ActivationStore::reserve(const std::vector<std::vector<int64_t>>& shapes, c10::ScalarType dtype)
{
    if (!m_batches.empty())
        throw Error("internal: calibration activations reserved twice");
    const int64_t element = static_cast<int64_t>(c10::elementSize(dtype));
    std::vector<int64_t> offsets;
    int64_t total = 0;
    for (const auto& shape : shapes) {
        offsets.push_back(total);
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        total += (n * element + 63) / 64 * 64;   // each batch 64-byte aligned, as the GEMMs like it
    }
    m_bytes = total;
    m_batches.resize(shapes.size());
    if (!m_onDisk || total == 0)
        return;
    checkFreeSpace(m_folder / "activations", static_cast<uint64_t>(total), "the calibration activations");
    std::string name = (m_folder / ".basis-activations-XXXXXX").string();
    const int fd = ::mkstemp(name.data());
    if (fd < 0)
        throw Error(m_folder.string() + ": cannot create the scratch file of the calibration activations: " + reason(errno));
    ::unlink(name.c_str());   // gone from the folder now; the space lives until the mapping is unmapped
    const int rc = ::posix_fallocate(fd, 0, total);
    if (rc != 0) {
        ::close(fd);
        throw Error(m_folder.string() + ": cannot reserve " + formatMemory(total) + " for the calibration activations: " +
                    reason(rc));
    }
    void* data = ::mmap(nullptr, static_cast<size_t>(total), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    const int mapError = errno;
    ::close(fd);
    if (data == MAP_FAILED)
        throw Error(m_folder.string() + ": cannot map the scratch file of the calibration activations: " + reason(mapError));
    auto mapping = std::make_shared<Mapping>();
    mapping->data = data;
    mapping->bytes = static_cast<size_t>(total);
    for (size_t b = 0; b < shapes.size(); ++b)
        m_batches[b] = at::from_blob(static_cast<char*>(data) + offsets[b], shapes[b], [mapping](void*) {},
                                     at::TensorOptions().dtype(dtype));
}

at::Tensor ActivationStore::get(size_t b) const { return m_batches.at(b); }

void ActivationStore::put(size_t b, const at::Tensor& x)
{
    at::Tensor& slot = m_batches.at(b);
    if (!m_onDisk) {
        slot = x;
        return;
    }
    if (x.sizes() != slot.sizes() || x.scalar_type() != slot.scalar_type())
        throw Error("internal: calibration activations of another shape or dtype than reserved");
    slot.copy_(x);
}

} // namespace basis
