// The PEFT export of LoRA adapters: applying adapter_model.safetensors to the exported base the way PEFT does
// (W += lora_alpha / r * lora_B lora_A, transposed for GPT-2's Conv1D under fan_in_fan_out) gives the logits of the
// model with the adapters merged (1e-5), for a dense model (the base is its own folder) and a Basis Sharing one (the
// base is its dense export, written beside the adapter). Names, shapes and adapter_config.json as PEFT reads them.
#include "test_support.h"
#include "train_fixtures.h"

#include "atomic_file.h"
#include "decoder_model.h"
#include "error.h"
#include "json_io.h"
#include "lora.h"
#include "output_folder.h"
#include "peft_export.h"
#include "safetensors.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

namespace {

namespace fs = std::filesystem;
using namespace basis::test::train;

at::Tensor viewOf(const basis::TensorView& t)
{
    EXPECT_EQ(t.dtype, basis::DType::F32) << t.name;
    return at::from_blob(const_cast<std::byte*>(t.data), t.shape, at::kFloat).clone();
}

TEST(PeftExport, AdapterOnTheExportedBaseGivesTheMergedLogits)
{
    for (const std::string preset : {"llama-micro", "gpt2-micro"})
        for (bool compressed : {false, true}) {
            SCOPED_TRACE(preset + (compressed ? " compressed" : " dense"));
            const fs::path dir = microModel(preset);
            auto c = compressed ? compressedMicro(dir) : Compressed{basis::DecoderModel::load(dir), {}};
            basis::DecoderModel& m = *c.model;
            const basis::DecoderModel before(m);   // the adapters' base, as Workspace keeps it
            m.makeTrainable(at::kFloat);
            auto o = smallRun("lora", 1);
            o.loraAlpha = 12;   // scale 3 at r = 4: a wrong scaling shows
            o.loraTargets = {m.table().projections.front().part, m.table().projections.back().part};
            basis::LoraAdapters lora(m, o);
            {
                at::NoGradGuard g;
                at::manual_seed(1);
                for (const at::Tensor& t : lora.parameters())
                    t.normal_(0, 0.1);
            }
            lora.setTraining(false);
            const basis::PeftAdapterExport peft = basis::peftAdapterExport(m, lora, o);
            lora.merge();
            const at::Tensor ids = at::tensor(randomIds(40, 9), at::kLong).view({2, 20});
            const at::Tensor merged = m.forward(ids);

            const fs::path out = basis::test::scratchDir("peft-" + preset + (compressed ? "-c" : "-d")) / "adapter";
            basis::writePeftFolder(peft, before, out);
            EXPECT_NO_THROW(basis::verifyOutputFolder(out, basis::OutputKind::PeftAdapter));
            const nlohmann::json config = basis::readJsonFile(out / "adapter_config.json");
            EXPECT_EQ(config.at("peft_type"), "LORA");
            EXPECT_EQ(config.at("r"), 4);
            EXPECT_EQ(config.at("lora_alpha").get<double>(), 12.0);
            EXPECT_EQ(config.at("fan_in_fan_out"), preset == "gpt2-micro");
            const fs::path base = config.at("base_model_name_or_path").get<std::string>();
            EXPECT_EQ(base == fs::absolute(out) / "base_model", compressed) << base;
            EXPECT_EQ(fs::exists(out / "base_model" / "model.safetensors"), compressed);

            // PEFT's merge, by hand, on the base checkpoint.
            auto applied = basis::DecoderModel::load(base);
            applied->makeTrainable(at::kFloat);
            const double scaling = config.at("lora_alpha").get<double>() / config.at("r").get<double>();
            const auto file = basis::SafetensorsFile::open(out / "adapter_model.safetensors");
            const auto modules = config.at("target_modules").get<std::vector<std::string>>();
            size_t adapters = 0;
            at::NoGradGuard g;
            for (int64_t l = 0; l < applied->layerCount(); ++l)
                for (size_t p = 0; p < applied->table().projections.size(); ++p) {
                    const basis::ProjectionSpec& spec = applied->table().projections[p];
                    const std::string prefix = "base_model.model." + applied->table().layerTensor(l, spec.module);
                    if (!file->contains(prefix + ".lora_A.weight"))
                        continue;
                    ++adapters;
                    EXPECT_NE(std::find(modules.begin(), modules.end(), spec.module), modules.end()) << spec.module;
                    const at::Tensor a = viewOf(file->tensor(prefix + ".lora_A.weight"));
                    const at::Tensor b = viewOf(file->tensor(prefix + ".lora_B.weight"));
                    EXPECT_EQ(a.sizes().vec(), (std::vector<int64_t>{4, spec.in}));
                    EXPECT_EQ(b.sizes().vec(), (std::vector<int64_t>{spec.out, 4}));
                    const at::Tensor delta = at::mm(b, a).mul(scaling);   // [out, in], as nn.Linear's weight
                    basis::LinearSlot& slot = applied->slot(l, p);
                    slot.weight().add_(config.at("fan_in_fan_out").get<bool>() ? delta.t() : delta);
                }
            // PEFT's saved names: base_model.model.<module path>.lora_A.weight / .lora_B.weight (no adapter name).
            auto endsWith = [](const std::string& n, const std::string& tail) {
                return n.size() > tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
            };
            for (const std::string& n : file->names())
                EXPECT_TRUE(n.rfind("base_model.model.", 0) == 0 && (endsWith(n, ".lora_A.weight") || endsWith(n, ".lora_B.weight")))
                    << n;
            EXPECT_EQ(adapters, static_cast<size_t>(2 * m.layerCount()));
            EXPECT_EQ(file->names().size(), 2 * adapters);
            const at::Tensor viaPeft = applied->forward(ids);
            EXPECT_TRUE(at::allclose(viaPeft, merged, 0, 1e-5)) << (viaPeft - merged).abs().max().item<double>();
            EXPECT_FALSE(at::allclose(viaPeft, before.forward(ids), 0, 1e-3));   // the adapters count
        }
}

} // namespace
