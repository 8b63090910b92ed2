#pragma once
// Fuzz targets over every reader of user files: each takes the bytes of one input, feeds them to the reader the
// way a user's file would reach it, and returns normally on success or on a basis::Error (a clear refusal). Any
// other exception, a crash or a hang is a finding. Used by the libFuzzer executables (BASIS_FUZZ=ON, clang) and by
// test_fuzz_corpus, which replays the stored corpus in every build.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace basis::fuzz {

using Target = void (*)(const uint8_t* data, size_t size);

struct NamedTarget {
    const char* name;   // also the corpus folder: fuzz/corpus/<name>/
    Target run;
};

// safetensors, shard_index, config_json, yaml_config, tokenizer_json, vocab_merges, sentencepiece,
// calibration_cache, compressed_model.
const std::vector<NamedTarget>& targets();
Target targetNamed(const std::string& name);   // nullptr when unknown

} // namespace basis::fuzz
