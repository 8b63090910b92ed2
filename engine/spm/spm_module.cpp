// basis_spm: SentencePiece behind the plain C interface of spm_module_api.h. This is the only binary that
// links libsentencepiece; the engine dlopen()s it (docs/ARCHITECTURE.md, "Layers"). Nothing may throw across the
// C boundary, so every entry point catches everything and reports through its return value.
#include "spm_module_api.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct basis_spm_model {
    sentencepiece::SentencePieceProcessor sp;
};

namespace {

void setError(char* err, size_t capacity, const std::string& message)
{
    if (!err || capacity == 0)
        return;
    const size_t n = std::min(message.size(), capacity - 1);
    std::memcpy(err, message.data(), n);
    err[n] = '\0';
}

// Copies what fits and returns the full size, so the caller can retry with a big enough buffer.
template <typename T>
int64_t copyOut(const T* data, size_t size, T* out, size_t capacity)
{
    if (out && capacity > 0)
        std::copy(data, data + std::min(size, capacity), out);
    return static_cast<int64_t>(size);
}

std::string exceptionMessage(const char* what)
{
    return std::string("sentencepiece module: unexpected exception: ") + what;
}

} // namespace

extern "C" {

int basis_spm_abi_version(void) { return BASIS_SPM_ABI_VERSION; }

basis_spm_model* basis_spm_load(const char* path, char* err, size_t err_capacity)
{
    try {
        auto model = std::make_unique<basis_spm_model>();
        const auto status = model->sp.Load(path);
        if (!status.ok()) {
            setError(err, err_capacity, status.ToString());
            return nullptr;
        }
        return model.release();
    } catch (const std::exception& e) {
        setError(err, err_capacity, exceptionMessage(e.what()));
    } catch (...) {
        setError(err, err_capacity, exceptionMessage("unknown"));
    }
    return nullptr;
}

void basis_spm_free(basis_spm_model* model)
{
    try {
        delete model;
    } catch (...) {
        // A destructor that throws would end the process; there is nothing to report to.
    }
}

int64_t basis_spm_encode(const basis_spm_model* model, const char* text, size_t text_len,
                         int32_t* ids, size_t capacity, char* err, size_t err_capacity)
{
    try {
        std::vector<int> out;
        const auto status = model->sp.Encode(std::string_view(text, text_len), &out);
        if (!status.ok()) {
            setError(err, err_capacity, status.ToString());
            return -1;
        }
        static_assert(sizeof(int) == sizeof(int32_t), "ids are copied as int32_t");
        return copyOut(reinterpret_cast<const int32_t*>(out.data()), out.size(), ids, capacity);
    } catch (const std::exception& e) {
        setError(err, err_capacity, exceptionMessage(e.what()));
    } catch (...) {
        setError(err, err_capacity, exceptionMessage("unknown"));
    }
    return -1;
}

int64_t basis_spm_decode(const basis_spm_model* model, const int32_t* ids, size_t n_ids,
                         char* text, size_t capacity, char* err, size_t err_capacity)
{
    try {
        // Checked here too: an out-of-range id must never reach the protobuf accessors.
        const int32_t size = model->sp.GetPieceSize();
        for (size_t i = 0; i < n_ids; ++i) {
            if (ids[i] < 0 || ids[i] >= size) {
                setError(err, err_capacity, "id " + std::to_string(ids[i]) + " is out of range (vocabulary of "
                                                + std::to_string(size) + " pieces)");
                return -1;
            }
        }
        std::string out;
        const auto status = model->sp.Decode(std::vector<int>(ids, ids + n_ids), &out);
        if (!status.ok()) {
            setError(err, err_capacity, status.ToString());
            return -1;
        }
        return copyOut(out.data(), out.size(), text, capacity);
    } catch (const std::exception& e) {
        setError(err, err_capacity, exceptionMessage(e.what()));
    } catch (...) {
        setError(err, err_capacity, exceptionMessage("unknown"));
    }
    return -1;
}

int32_t basis_spm_piece_count(const basis_spm_model* model)
{
    try {
        return model->sp.GetPieceSize();
    } catch (...) {
        return -1;
    }
}

int32_t basis_spm_piece_to_id(const basis_spm_model* model, const char* piece, size_t piece_len)
{
    try {
        const std::string_view wanted(piece, piece_len);
        const int id = model->sp.PieceToId(wanted);
        // sentencepiece answers unk_id for unknown pieces: tell that apart from the unk piece itself.
        if (id == model->sp.unk_id() && model->sp.IdToPiece(id) != wanted)
            return -1;
        return id;
    } catch (...) {
        return -1;
    }
}

int64_t basis_spm_id_to_piece(const basis_spm_model* model, int32_t id, char* piece, size_t capacity)
{
    try {
        if (id < 0 || id >= model->sp.GetPieceSize())
            return -1;
        const std::string& p = model->sp.IdToPiece(id);
        return copyOut(p.data(), p.size(), piece, capacity);
    } catch (...) {
        return -1;
    }
}

int32_t basis_spm_bos_id(const basis_spm_model* model)
{
    try {
        return model->sp.bos_id();
    } catch (...) {
        return -1;
    }
}

int32_t basis_spm_eos_id(const basis_spm_model* model)
{
    try {
        return model->sp.eos_id();
    } catch (...) {
        return -1;
    }
}

int32_t basis_spm_unk_id(const basis_spm_model* model)
{
    try {
        return model->sp.unk_id();
    } catch (...) {
        return -1;
    }
}

} // extern "C"
