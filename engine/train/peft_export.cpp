#include "peft_export.h"

#include "atomic_file.h"
#include "compressed_io.h"
#include "decoder_model.h"
#include "error.h"
#include "lora.h"
#include "output_folder.h"
#include "safetensors.h"

#include <ATen/ATen.h>

#include <set>

namespace basis {

namespace fs = std::filesystem;

PeftAdapterExport peftAdapterExport(const DecoderModel& model, const LoraAdapters& lora, const TrainOptions& o)
{
    PeftAdapterExport e;
    std::vector<std::string> modules;
    std::set<bool> fanInFanOut;
    for (const LoraAdapters::Factors& f : lora.factors()) {
        const ProjectionSpec& spec = model.table().projections.at(f.projection);
        const std::string prefix = "base_model.model." + model.table().layerTensor(f.layer, spec.module);
        // PEFT multiplies by lora_alpha / r itself: the factors go out unscaled, as trained.
        e.tensors.emplace_back(prefix + ".lora_A.weight", f.down.t().to(at::kFloat).contiguous());
        e.tensors.emplace_back(prefix + ".lora_B.weight", f.up.t().to(at::kFloat).contiguous());
        if (std::find(modules.begin(), modules.end(), spec.module) == modules.end())
            modules.push_back(spec.module);
        fanInFanOut.insert(spec.storedInOut);
    }
    if (e.tensors.empty())
        throw Error("PEFT export: the model has no LoRA adapters");
    if (fanInFanOut.size() > 1)
        throw Error("PEFT export: the targets mix Conv1D and Linear layers, which one adapter_config cannot declare");
    e.config = {{"peft_type", "LORA"},
                {"task_type", "CAUSAL_LM"},
                {"r", o.loraRank},
                {"lora_alpha", o.loraAlpha},
                {"lora_dropout", o.loraDropout},
                {"target_modules", modules},
                {"fan_in_fan_out", *fanInFanOut.begin()},
                {"bias", "none"},
                {"use_rslora", false},
                {"use_dora", false},
                {"init_lora_weights", true},
                {"inference_mode", true},
                {"modules_to_save", nullptr},
                {"revision", nullptr}};
    return e;
}

void writePeftFolder(const PeftAdapterExport& adapter, const DecoderModel& base, const fs::path& out, const JobContext& job)
{
    bool factorized = false;
    for (int64_t l = 0; l < base.layerCount(); ++l)
        for (const LinearSlot& s : base.layer(l).slots)
            factorized = factorized || s.isFactorized() || s.isQuantized();
    const fs::path target = resolveOutputPath(out);
    nlohmann::json config = adapter.config;
    config["base_model_name_or_path"] = factorized ? (target / "base_model").string() : fs::absolute(base.dir()).string();
    std::vector<TensorToWrite> list;
    for (const auto& [name, t] : adapter.tensors)
        list.push_back({name, DType::F32, t.sizes().vec(), t.data_ptr(), static_cast<size_t>(t.nbytes())});
    writeOutputFolder(out, OutputKind::PeftAdapter, {base.dir()}, [&](const fs::path& dir) {
        writeSafetensors(dir / "adapter_model.safetensors", list, {{"format", "pt"}});
        writeFileAtomically(dir / "adapter_config.json", config.dump(2) + "\n");
        std::string readme = "# LoRA adapter (PEFT layout), written by Basis Studio\n\n"
                             "```python\nfrom transformers import AutoModelForCausalLM\nfrom peft import PeftModel\n"
                             "base = AutoModelForCausalLM.from_pretrained(\"" + config["base_model_name_or_path"].get<std::string>() +
                             "\")\nmodel = PeftModel.from_pretrained(base, \"" + target.string() + "\")\n```\n";
        if (factorized)
            readme += "\nThe adapters were trained on a compressed (factorized) model; base_model/ is its dense export,\n"
                      "against which they are exact (an adapter on the coefficients of y = (x B) C is one with\n"
                      "lora_A = (B A)^T on W = B C).\n";
        writeFileAtomically(dir / "README.md", readme);
        if (factorized)
            writeDenseFiles(base, dir / "base_model", job);
        job.checkCancelled();
    }, {}, job.log);
}

} // namespace basis
