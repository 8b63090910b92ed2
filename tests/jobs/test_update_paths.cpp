// `basis-cli compress --update` and the YAML pipeline with `update: true` make the same model: bit-identical
// tensors in model.safetensors (the coefficients the refit wrote included), on the built-in stories260K.
#include "atomic_file.h"
#include "pipeline.h"
#include "run_config.h"
#include "safetensors.h"
#include "test_support.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace {

namespace fs = std::filesystem;

// Names of the tensors whose bytes differ between two model.safetensors (every name must be in both).
std::vector<std::string> differingTensors(const fs::path& a, const fs::path& b)
{
    const auto fa = basis::SafetensorsFile::open(a / "model.safetensors");
    const auto fb = basis::SafetensorsFile::open(b / "model.safetensors");
    EXPECT_EQ(fa->names(), fb->names());
    std::vector<std::string> differ;
    for (const std::string& name : fa->names()) {
        if (!fb->contains(name))
            continue;
        const basis::TensorView& x = fa->tensor(name);
        const basis::TensorView& y = fb->tensor(name);
        if (x.dtype != y.dtype || x.shape != y.shape || std::memcmp(x.data, y.data, x.bytes) != 0)
            differ.push_back(name);
    }
    return differ;
}

TEST(UpdatePaths, CliCompressUpdateEqualsPipelineUpdate)
{
    const fs::path work = basis::test::scratchDir("update-paths");
    const fs::path calib = work / "calib.txt";
    basis::writeFileAtomically(calib, basis::readFile(basis::test::sharedPath("data/tinystories-valid/calib.txt")).substr(0, 30000));

    const std::string cli = std::string(BASIS_CLI_PATH) + " compress --model builtin:stories260k --text " + calib.string() +
                            " --samples 12 --context 64 --batch 3 --ratio 30 --group-size 2 --update --threads 1 --out " +
                            (work / "cli").string() + " > " + (work / "cli.log").string() + " 2>&1";
    ASSERT_EQ(std::system(cli.c_str()), 0) << basis::readFile(work / "cli.log");

    basis::RunConfig c = basis::parseRunConfig(R"(model_args: {group_size: 2, compression_ratio: 30, context_length: 64, stride: 64}
calibration_args: {calibration_size: 12, calib_batch_size: 3}
after_calibration_update_args: {update: true}
basis_studio: {model_path: builtin:stories260k, threads: 1}
)", "update.yaml", {"basis_studio.calibration_text=" + calib.string()}).config;
    c.untrainedModelPath = (work / "before-update").string();
    c.updatedModelPath = (work / "pipeline").string();
    basis::runPipeline(c);

    EXPECT_TRUE(differingTensors(work / "cli", work / "pipeline").empty());
    // Not vacuous: the refit changed coefficients (the pipeline's save before the update differs from after).
    EXPECT_FALSE(differingTensors(work / "before-update", work / "pipeline").empty());
    fs::remove_all(work);
}

} // namespace
