#pragma once
// A Hugging Face hub cache laid out exactly as huggingface_hub writes it, built from a real model folder:
//   <cache>/models--<org>--<name>/blobs/<etag>                 the file's bytes (etag: sha256 for LFS files,
//                                                               the git blob sha1 for the others)
//   <cache>/models--<org>--<name>/snapshots/<commit>/<file>     relative symlink -> ../../blobs/<etag>
//   <cache>/models--<org>--<name>/refs/<ref>                    the commit hash, no newline
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace basis::test {

// The etags of the embedded stories260K files as the Hub would store them (sha256 of the LFS files
// model.safetensors and tokenizer.model, git blob ids of the others), as listed in its README.
inline const std::map<std::string, std::string>& stories260kEtags()
{
    static const std::map<std::string, std::string> etags = {
        {"config.json", "751efbe1449e10f7ca11a17e9f6f67b2f8f5c0fa"},
        {"generation_config.json", "cf751dd7bfa11b343edbc7c27759a79030952d40"},
        {"special_tokens_map.json", "a52c50a199269393cd1548c7e6a77a654bd2001b"},
        {"tokenizer_config.json", "8d67b080b96d7141f4d8f8946ceba5be0cb96711"},
        {"tokenizer.model", "38a8d3590c9a2574df23b1189b03012f9a9d556254351d30b333c3282d9c44a7"},
        {"model.safetensors", "46184e080fc4cd7f66d70313f7172dad1cbbde0994ffcf1020f15b79be12b61a"},
    };
    return etags;
}

// Adds one snapshot of `repo` ("org/name") holding `source`'s files (named by `etags`) and points refs/<ref> at it
// (no ref when `ref` is empty). Returns the snapshot folder.
inline std::filesystem::path addHubSnapshot(const std::filesystem::path& cache, const std::string& repo,
                                            const std::filesystem::path& source, const std::string& commit,
                                            const std::string& ref = "main",
                                            const std::map<std::string, std::string>& etags = stories260kEtags())
{
    namespace fs = std::filesystem;
    std::string folder = "models--" + repo;
    folder.replace(folder.find('/'), 1, "--");
    const fs::path repoDir = cache / folder;
    fs::create_directories(repoDir / "blobs");
    fs::create_directories(repoDir / "snapshots" / commit);
    for (const auto& [file, etag] : etags) {
        const fs::path blob = repoDir / "blobs" / etag;
        if (!fs::exists(blob))
            fs::copy_file(source / file, blob);
        fs::create_symlink(fs::path("..") / ".." / "blobs" / etag, repoDir / "snapshots" / commit / file);
    }
    if (!ref.empty()) {
        fs::create_directories((repoDir / "refs" / ref).parent_path());
        std::ofstream(repoDir / "refs" / ref, std::ios::binary) << commit;
    }
    return repoDir / "snapshots" / commit;
}

} // namespace basis::test
