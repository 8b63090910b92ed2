#include "sentencepiece_tokenizer.h"

#include "error.h"
#include "spm_module_api.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <system_error>

namespace basis {

namespace {

constexpr const char* kModuleFile = "libbasis_spm.so";
constexpr size_t kErrorCapacity = 1024;

// The module's entry points, resolved once per process.
struct SpmModule {
    std::filesystem::path path;
    decltype(&basis_spm_load) load = nullptr;
    decltype(&basis_spm_free) free = nullptr;
    decltype(&basis_spm_encode) encode = nullptr;
    decltype(&basis_spm_decode) decode = nullptr;
    decltype(&basis_spm_piece_count) pieceCount = nullptr;
    decltype(&basis_spm_piece_to_id) pieceToId = nullptr;
    decltype(&basis_spm_id_to_piece) idToPiece = nullptr;
    decltype(&basis_spm_bos_id) bosId = nullptr;
    decltype(&basis_spm_eos_id) eosId = nullptr;
    std::string error;   // non-empty when the module could not be used
};

std::filesystem::path executableDir()
{
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::path() : exe.parent_path();
}

std::string dlError()
{
    const char* e = dlerror();
    return e ? e : "unknown dlopen error";
}

template <typename Fn>
bool resolve(void* handle, const char* name, Fn& out, SpmModule& m)
{
    dlerror();   // clear any stale message so the one reported belongs to this lookup
    out = reinterpret_cast<Fn>(dlsym(handle, name));
    if (!out)
        m.error = "SentencePiece module " + m.path.string() + " lacks " + name + ": " + dlError();
    return out != nullptr;
}

bool resolveAll(void* h, SpmModule& m)
{
    return resolve(h, "basis_spm_load", m.load, m) && resolve(h, "basis_spm_free", m.free, m)
        && resolve(h, "basis_spm_encode", m.encode, m) && resolve(h, "basis_spm_decode", m.decode, m)
        && resolve(h, "basis_spm_piece_count", m.pieceCount, m)
        && resolve(h, "basis_spm_piece_to_id", m.pieceToId, m)
        && resolve(h, "basis_spm_id_to_piece", m.idToPiece, m) && resolve(h, "basis_spm_bos_id", m.bosId, m)
        && resolve(h, "basis_spm_eos_id", m.eosId, m);
}

SpmModule openModule()
{
    SpmModule m;
    m.path = SentencePieceTokenizer::modulePath();
    // RTLD_LOCAL keeps the module's protobuf out of the global namespace; RTLD_DEEPBIND makes the module
    // bind to its own copy first even where LibTorch's libprotobuf was loaded earlier (else: abort).
    // The handle is never closed: tokenizers may live until exit.
    void* handle = dlopen(m.path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    if (!handle) {
        m.error = "cannot load the SentencePiece module " + m.path.string() + ": " + dlError()
            + " (it is looked for in $BASIS_SPM_MODULE, beside the executable, and in ../lib/basis-studio/)";
        return m;
    }
    decltype(&basis_spm_abi_version) abiVersion = nullptr;
    if (!resolve(handle, "basis_spm_abi_version", abiVersion, m))
        return m;
    if (const int v = abiVersion(); v != BASIS_SPM_ABI_VERSION) {
        m.error = "SentencePiece module " + m.path.string() + " has ABI version " + std::to_string(v)
            + ", this program needs " + std::to_string(BASIS_SPM_ABI_VERSION) + " (mismatched installation)";
        return m;
    }
    resolveAll(handle, m);
    return m;
}

// Loaded on first use, once per process; a failure is remembered and reported again on each use.
const SpmModule& spmModule()
{
    static const SpmModule module = openModule();
    if (!module.error.empty())
        throw Error(module.error);
    return module;
}

int32_t checkedId(int64_t id, int64_t vocabSize, const std::filesystem::path& modelFile)
{
    if (id < 0 || id >= vocabSize)
        throw Error("token id " + std::to_string(id) + " is out of range for " + modelFile.string() + " ("
                    + std::to_string(vocabSize) + " pieces)");
    return static_cast<int32_t>(id);
}

} // namespace

struct SentencePieceTokenizer::Impl {
    const SpmModule* module = nullptr;
    basis_spm_model* model = nullptr;
    std::filesystem::path file;
    int64_t vocabSize = 0;

    ~Impl()
    {
        if (model)
            module->free(model);
    }
    [[noreturn]] void fail(const std::string& what, const char* err) const
    {
        throw Error("SentencePiece " + what + " with " + file.string() + " failed: " + err);
    }
};

std::filesystem::path SentencePieceTokenizer::modulePath()
{
    if (const char* env = std::getenv("BASIS_SPM_MODULE"); env && *env)
        return env;
    const auto dir = executableDir();
    const auto beside = dir / kModuleFile;
    const auto installed = (dir / ".." / "lib" / "basis-studio" / kModuleFile).lexically_normal();
    std::error_code ec;
    if (!std::filesystem::exists(beside, ec) && std::filesystem::exists(installed, ec))
        return installed;
    return beside;   // also what the error names when neither exists
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::filesystem::path& modelFile)
{
    const SpmModule& module = spmModule();
    std::unique_ptr<SentencePieceTokenizer> tok(new SentencePieceTokenizer);
    tok->m_impl = std::make_unique<Impl>();
    Impl& impl = *tok->m_impl;
    impl.module = &module;
    impl.file = modelFile;

    char err[kErrorCapacity] = {};
    impl.model = module.load(modelFile.c_str(), err, sizeof err);
    if (!impl.model)
        throw Error("cannot load SentencePiece model " + modelFile.string() + ": " + err);
    impl.vocabSize = module.pieceCount(impl.model);

    // The model's own ids, and LlamaTokenizer's add_bos_token default; loadTokenizer() refines these from
    // the folder's tokenizer_config.json.
    const auto special = [](int32_t id) { return id >= 0 ? std::optional<int64_t>(id) : std::nullopt; };
    tok->setSpecialTokens(special(module.bosId(impl.model)), special(module.eosId(impl.model)), true);
    return tok;
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int64_t> SentencePieceTokenizer::encode(const std::string& text) const
{
    const Impl& impl = *m_impl;
    // Usually one call: with byte fallback there is at most one id per byte, plus the dummy prefix; a
    // normalizer that expands text is handled by the retry.
    std::vector<int32_t> ids(text.size() + 16);
    char err[kErrorCapacity] = {};
    int64_t n = impl.module->encode(impl.model, text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
    if (n > static_cast<int64_t>(ids.size())) {
        ids.resize(static_cast<size_t>(n));
        n = impl.module->encode(impl.model, text.data(), text.size(), ids.data(), ids.size(), err, sizeof err);
    }
    if (n < 0)
        impl.fail("encoding", err);
    return std::vector<int64_t>(ids.begin(), ids.begin() + n);
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const
{
    const Impl& impl = *m_impl;
    std::vector<int32_t> narrow;
    narrow.reserve(ids.size());
    for (int64_t id : ids)
        narrow.push_back(checkedId(id, impl.vocabSize, impl.file));

    // The module skips control tokens (BOS/EOS), as sentencepiece's DecodeIds does.
    std::string text(ids.size() * 8 + 16, '\0');
    char err[kErrorCapacity] = {};
    int64_t n = impl.module->decode(impl.model, narrow.data(), narrow.size(), text.data(), text.size(), err,
                                    sizeof err);
    if (n > static_cast<int64_t>(text.size())) {
        text.resize(static_cast<size_t>(n));
        n = impl.module->decode(impl.model, narrow.data(), narrow.size(), text.data(), text.size(), err,
                                sizeof err);
    }
    if (n < 0)
        impl.fail("decoding", err);
    text.resize(static_cast<size_t>(n));
    return text;
}

int64_t SentencePieceTokenizer::vocabSize() const { return m_impl->vocabSize; }

int64_t SentencePieceTokenizer::pieceToId(const std::string& piece) const
{
    return m_impl->module->pieceToId(m_impl->model, piece.data(), piece.size());
}

std::string SentencePieceTokenizer::idToPiece(int64_t id) const
{
    const Impl& impl = *m_impl;
    const int32_t narrow = checkedId(id, impl.vocabSize, impl.file);
    std::string piece(64, '\0');
    int64_t n = impl.module->idToPiece(impl.model, narrow, piece.data(), piece.size());
    if (n > static_cast<int64_t>(piece.size())) {
        piece.resize(static_cast<size_t>(n));
        n = impl.module->idToPiece(impl.model, narrow, piece.data(), piece.size());
    }
    piece.resize(static_cast<size_t>(std::max<int64_t>(n, 0)));
    return piece;
}

} // namespace basis
