#pragma once
/* C interface between the engine and the basis_spm module (engine/spm/spm_module.cpp).
 *
 * The module alone links libsentencepiece (and, through it, Debian's protobuf-lite); the engine dlopen()s it
 * with RTLD_LOCAL | RTLD_DEEPBIND (docs/ARCHITECTURE.md, "Layers"). Only C types cross this boundary, so neither
 * side's C++ runtime objects, protobuf or exceptions ever meet the other's. Every function is noexcept in
 * practice: failures come back as return codes plus a message copied into a caller-provided buffer.
 *
 * Buffers: functions that produce variable-length output take (buffer, capacity) and return the size the
 * full result needs. When that is larger than capacity, the buffer holds only a prefix (strings are not
 * NUL-terminated unless stated); call again with a buffer of the returned size. A negative return is an
 * error, described in err (NUL-terminated, truncated to err_capacity).
 */
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of the functions below; the engine refuses a module with another one. */
#define BASIS_SPM_ABI_VERSION 1

typedef struct basis_spm_model basis_spm_model;

/* The module is built with hidden visibility: only these functions are exported. The engine never links
 * them (it resolves them with dlsym), so the attribute is harmless on its side. */
#if defined(__GNUC__)
#define BASIS_SPM_API __attribute__((visibility("default")))
#else
#define BASIS_SPM_API
#endif

/* The ABI version the module was built with (BASIS_SPM_ABI_VERSION). Resolve and check this first. */
BASIS_SPM_API int basis_spm_abi_version(void);

/* Loads a SentencePiece model file (path NUL-terminated). NULL on failure, with sentencepiece's status
 * message in err. Free the handle with basis_spm_free. */
BASIS_SPM_API basis_spm_model* basis_spm_load(const char* path, char* err, size_t err_capacity);
BASIS_SPM_API void basis_spm_free(basis_spm_model* model);

/* Text (UTF-8 bytes, text_len of them, no terminator needed) -> ids, no BOS/EOS added. Writes up to
 * capacity ids; returns the number of ids of the full encoding, or -1 on error. */
BASIS_SPM_API int64_t basis_spm_encode(const basis_spm_model* model, const char* text, size_t text_len,
                         int32_t* ids, size_t capacity, char* err, size_t err_capacity);

/* Ids -> UTF-8 text; control tokens (BOS/EOS) produce nothing, as in sentencepiece's DecodeIds. Writes up
 * to capacity bytes (no terminator); returns the byte length of the full text, or -1 on error (e.g. an id
 * out of range). */
BASIS_SPM_API int64_t basis_spm_decode(const basis_spm_model* model, const int32_t* ids, size_t n_ids,
                         char* text, size_t capacity, char* err, size_t err_capacity);

/* Number of pieces (the vocabulary size). */
BASIS_SPM_API int32_t basis_spm_piece_count(const basis_spm_model* model);

/* Id of a piece (piece_len bytes), or -1 when the vocabulary has no such piece (unlike sentencepiece's
 * PieceToId, which answers unk_id). */
BASIS_SPM_API int32_t basis_spm_piece_to_id(const basis_spm_model* model, const char* piece, size_t piece_len);

/* Piece of an id, written like decode's text (up to capacity bytes, no terminator); returns its byte
 * length, or -1 when the id is out of range. */
BASIS_SPM_API int64_t basis_spm_id_to_piece(const basis_spm_model* model, int32_t id, char* piece,
                                          size_t capacity);

/* Special ids of the model, -1 where the model has none. */
BASIS_SPM_API int32_t basis_spm_bos_id(const basis_spm_model* model);
BASIS_SPM_API int32_t basis_spm_eos_id(const basis_spm_model* model);
BASIS_SPM_API int32_t basis_spm_unk_id(const basis_spm_model* model);

#ifdef __cplusplus
} /* extern "C" */
#endif
