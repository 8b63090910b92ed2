#pragma once
// config.json of a Hugging Face checkpoint, parsed into typed hyper-parameters for the architectures
// the engine runs. Torch-free.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace basis {

enum class Activation { GeluTanh, GeluExact, Relu, Silu };
enum class NormKind { LayerNorm, RMSNorm };

std::string activationName(Activation act);

// Rescaled rotary frequencies (config.json rope_scaling). Only the types the decoder implements exist here;
// the parser refuses the others by name.
struct RopeScaling {
    enum class Type { None, Llama3 };
    Type type = Type::None;
    double factor = 1.0;                  // llama3: low frequencies are divided by this
    double lowFreqFactor = 1.0, highFreqFactor = 4.0;
    int64_t originalMaxPositions = 0;
};

struct ModelConfig {
    std::string arch;                     // model_type of the registered architecture (engine/core/archs/)
    std::string modelType;                // as written in config.json
    int64_t vocabSize = 0;
    int64_t hidden = 0;
    int64_t layers = 0;
    int64_t heads = 0;
    int64_t kvHeads = 0;
    int64_t headDim = 0;
    int64_t intermediate = 0;
    int64_t maxPositions = 0;
    double normEps = 1e-5;
    NormKind norm = NormKind::RMSNorm;
    Activation activation = Activation::Silu;
    bool tieEmbeddings = false;
    bool attentionBias = false;           // q/k/v/o biases
    bool mlpBias = false;
    // RoPE (LLaMA, Mistral); 0 when positions are learned.
    double ropeTheta = 0.0;
    RopeScaling ropeScaling;
    // Gemma: RMSNorm gain is (1 + w), and embeddings are multiplied by sqrt(hidden) in the model dtype.
    bool rmsNormUnitOffset = false;
    bool scaleEmbeddings = false;
    // Learned absolute positions (GPT-2, OPT); OPT stores them shifted by 2.
    bool learnedPositions = false;
    int64_t positionOffset = 0;
    // Mistral: a query attends to at most this many keys (itself included); 0 = unlimited.
    int64_t slidingWindow = 0;
    // Attention scaling switches (GPT-2's config keys; every other architecture scales by 1/sqrt(head_dim)).
    bool scaleAttnWeights = true;
    bool scaleAttnByInverseLayerIdx = false;
    // OPT: pre- or post-norm blocks, the final norm, and project_in/out when word_embed_proj_dim differs.
    bool normBefore = true;
    bool finalNorm = true;
    int64_t wordEmbedProjDim = 0;         // == hidden unless OPT projects
    std::optional<int64_t> bosId, eosId, padId;
    std::string torchDtype;               // informational ("float32", "bfloat16", ...)
    // Fused projections (Phi-3's qkv, gate_up) addressed as their parts (architecture.h archTable): set from the
    // compression section's "split_fused" of a compressed folder, or for a setting that names the parts.
    std::vector<std::string> splitFused;

    nlohmann::json raw;                   // the file as read, kept for saving compressed models
};

// Throws basis::Error naming the file: invalid JSON, unknown or missing model_type, missing or
// ill-typed required keys, inconsistent sizes (hidden not divisible by heads, ...).
ModelConfig parseModelConfig(const std::filesystem::path& configJson);
ModelConfig parseModelConfig(const nlohmann::json& json, const std::string& source);

} // namespace basis
