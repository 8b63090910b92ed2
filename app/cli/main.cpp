// basis-cli: the headless face of the engine. Argument parsing only; each command lives in cmd_*.cpp.
#include "cli_model.h"
#include "cli_memory.h"
#include "cli_rank.h"
#include "commands.h"

#include "compression_plan.h"
#include "error.h"
#include "method.h"
#include "method_help.h"

#include <CLI/CLI.hpp>
#include <c10/util/Exception.h>

#include <filesystem>
#include <iostream>
#include <new>

namespace {

using namespace basis::cli;

// Options bound to the jobs' option structs show the structs' defaults (job_options.h) in --help.
void addRunOptions(CLI::App* cmd, basis::RunSetup& run)
{
    cmd->add_option("--device", run.device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_option("--dtype", run.dtype, "float32 or bfloat16")->capture_default_str();
    cmd->add_option("--threads", run.threads, "CPU threads (0 = all cores)")->capture_default_str();
    cmd->add_option("--weights", run.weights,
                    "device, or host: the layers stay in CPU memory (mapped as stored) and each is copied to the "
                    "device for its turn, for a model bigger than the GPU")
        ->capture_default_str();
}

void addCalibOptions(CLI::App* cmd, basis::CalibrateOptions& c)
{
    cmd->add_option("--samples", c.samples, "Calibration chunks (0 = every full chunk)")->capture_default_str();
    cmd->add_option("--context", c.context, "Tokens per chunk")->capture_default_str();
    cmd->add_option("--sampling", c.sampling, "sequential or random")->capture_default_str();
    cmd->add_option("--seed", c.seed, "Seed for random chunks")->capture_default_str();
    cmd->add_option("--batch", c.batch, "Chunks per forward pass")->capture_default_str();
    cmd->add_option("--bos", c.bos, "auto, always or never: BOS once at the start of the text")->capture_default_str();
    cmd->add_option("--activations", c.activations,
                    "auto, memory or disk: where a calibration into a cache keeps every sample's activations (disk: "
                    "a scratch file beside the cache; auto: disk when they exceed half the available memory)")
        ->capture_default_str();
}

} // namespace

int main(int argc, char** argv)
{
    startMemoryWatch();   // the memory figures long commands report cover the whole run
    CLI::App app{"Basis Studio command line: inspect, evaluate, generate with and compress Hugging Face checkpoints"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "basis-cli 0.1.0");

    InspectArgs inspect;
    auto* inspectCmd = app.add_subcommand("inspect", "Architecture, layers, every projection with its shape and parameters");
    inspectCmd->add_option("--model", inspect.model, kModelHelp)->required();
    inspectCmd->add_flag("--json", inspect.json, "Print one JSON object");
    inspectCmd->add_option("--ratio", inspect.ratio, "Account for this compression ratio (% of target parameters removed)");
    inspectCmd->add_option("--group-size", inspect.groupSize, settingHelp(basis::setting::GroupSize))->capture_default_str();
    inspectCmd->add_option("--method", inspect.method, methodFlagHelp())->capture_default_str();
    inspectCmd->add_option("--share", inspect.share, "Parts shared across a group")->delimiter(',');
    inspectCmd->add_option("--private", inspect.privateParts, "Parts compressed layer by layer")->delimiter(',');
    inspectCmd->add_option("--calib", inspect.calib, "Calibration cache with spectra: also print the energy kept");
    inspectCmd->add_option("--bits", inspect.quant.bits, settingHelp(basis::setting::Bits))->capture_default_str();
    inspectCmd->add_option("--rank", inspect.quant.rank, settingHelp(basis::setting::Rank))->capture_default_str();
    inspectCmd->add_option("--factor-dtype", inspect.quant.factorDtype, settingHelp(basis::setting::FactorDtype))->capture_default_str();

    CalibrateArgs calibrate;
    auto* calibrateCmd = app.add_subcommand("calibrate", "Collect x^T x statistics at every projection input into a cache folder");
    calibrateCmd->add_option("--model", calibrate.model, kModelHelp)->required();
    calibrateCmd->add_option("--text", calibrate.calib.text, "Calibration text file")->required();
    calibrateCmd->add_option("--out", calibrate.out, "Calibration cache folder")->required();
    addCalibOptions(calibrateCmd, calibrate.calib);
    calibrateCmd->add_flag("--force", calibrate.calib.force, "Recompute even when the folder holds a matching cache");
    calibrateCmd->add_option("--spectra", calibrate.spectra, "Group sizes whose singular values are stored with the cache (0: none)")
        ->delimiter(',')->capture_default_str();
    calibrateCmd->add_option("--stats-dtype", calibrate.calib.statisticsDtype,
                             "How the cache stores x^T x: float64 (exact) or float32 (half the disk and mapped memory, "
                             "rounded once when written)")
        ->check(CLI::IsMember({"float64", "float32"}))->capture_default_str();
    addRunOptions(calibrateCmd, calibrate.run);
    calibrateCmd->add_flag("--json", calibrate.json, "Print one JSON object as the last line");

    CompressArgs compress;
    auto* compressCmd = app.add_subcommand("compress", "Compress with " + methodFlagHelp() + " and save the result");
    compressCmd->footer(methodsFooter());
    compressCmd->add_option("--model", compress.model, kModelHelp)->required();
    auto* calibOpt = compressCmd->add_option("--calib", compress.calibDir, "Calibration cache folder (from calibrate)");
    auto* textOpt = compressCmd->add_option("--text", compress.calib.text, "Calibrate on this text instead");
    calibOpt->excludes(textOpt);
    addCalibOptions(compressCmd, compress.calib);
    basis::CompressionSettings& settings = compress.compress.settings;
    compressCmd->add_option("--method", compress.method, methodFlagHelp())->default_val(settings.method);
    // Required by the methods that read it (checked in runCompress, as every method flag is).
    compressCmd->add_option("--ratio", settings.ratio, settingHelp(basis::setting::Ratio));
    compressCmd->add_option("--budget", settings.budget,
                            "Exact budget: remove this % of the target projections' parameters (within one rank step "
                            "per group, the same share from every group) instead of --ratio's per-matrix rule");
    compressCmd->add_option("--bits", settings.quant.bits, settingHelp(basis::setting::Bits))->capture_default_str();
    compressCmd->add_option("--rank", settings.quant.rank, settingHelp(basis::setting::Rank))->capture_default_str();
    compressCmd->add_option("--q-step", settings.quant.qStep, settingHelp(basis::setting::QStep))->capture_default_str();
    compressCmd->add_option("--iters", settings.quant.iters, settingHelp(basis::setting::Iters))->capture_default_str();
    compressCmd->add_option("--factor-dtype", settings.quant.factorDtype, settingHelp(basis::setting::FactorDtype))
        ->capture_default_str();
    // Feature-space methods (utilized, hybrid, weight-svd, sfsd): one of --energy, --fraction, --ranks.
    compressCmd->add_option_function<double>("--energy", [&](const double& e) { settings.featureSpace.energy = e; },
                                             settingHelp(basis::setting::Energy));
    compressCmd->add_option_function<double>("--fraction", [&](const double& f) { settings.featureSpace.fraction = f; },
                                             settingHelp(basis::setting::Fraction));
    compressCmd->add_option("--ranks", settings.featureSpace.ranksFile, settingHelp(basis::setting::Ranks));
    compressCmd->add_option("--policy", settings.featureSpace.policy, settingHelp(basis::setting::Policy))
        ->capture_default_str();
    // 1, not CompressionSettings' 2: the command line's (and the YAML's) default since the first release.
    compressCmd->add_option("--group-size", settings.groupSize, settingHelp(basis::setting::GroupSize))->default_val(1);
    compressCmd->add_option("--allocator", settings.allocator,
                            "With --budget: uniform (the same share from every group), greedy (rank steps where the "
                            "whitened spectra buy the most energy per parameter), greedy-relative (the same with each "
                            "group's energy as a share of its own total) or loss (of uniform, greedy and "
                            "greedy-relative allocations and the uniform rule with each part removing x0.5 and x1.5 its "
                            "share, the one of the lowest loss on a text)")
        ->capture_default_str();
    compressCmd->add_option("--allocator-text", compress.compress.allocatorText,
                            "Loss allocator: the text candidates are measured on (default: the calibration text)");
    compressCmd->add_option("--allocator-windows", compress.compress.allocatorWindows,
                            "Loss allocator: windows of the calibration context read from that text")->capture_default_str();
    compressCmd->add_option("--part-weight", compress.partWeights,
                            "Greedy allocator: PART=W weighs a part's energy (default 1), e.g. --part-weight down=2")
        ->delimiter(',');
    compressCmd->add_option("--ranks-out", compress.ranksOut,
                            "Write the ranks chosen as a ranks file (docs/RANKS_FILE.md; a shared group's layers carry "
                            "their group's rank, allocation.group_size says so)");
    compressCmd->add_option("--share", settings.shared, settingHelp(basis::setting::SharedParts))->delimiter(',');
    compressCmd->add_option("--private", settings.privateParts, settingHelp(basis::setting::PrivateParts))->delimiter(',');
    compressCmd->add_flag("--update", settings.update, settingHelp(basis::setting::Update));
    compressCmd->add_option("--update-text", compress.compress.updateText, "Text for the update statistics (default: the calibration text)");
    compressCmd->add_option("--out", compress.out, "Output folder")->required();
    compressCmd->add_option("--shard-size", compress.shardSize,
                            "Largest safetensors shard of the output (5GB, 500MB, 64KB or bytes; model.safetensors "
                            "when everything fits in one, else shards and model.safetensors.index.json)")
        ->capture_default_str();
    addRunOptions(compressCmd, compress.run);
    compressCmd->add_flag("--json", compress.json, "Print one JSON object as the last line");

    SearchArgs search;
    auto* searchCmd = app.add_subcommand("search", "Surgical rank search: from the last layer down, the smallest fraction "
                                                   "of each projection's break-even rank that keeps the perplexity "
                                                   "within the budget; writes a ranks JSON for compress --ranks");
    searchCmd->add_option("--model", search.model, kModelHelp)->required();
    searchCmd->add_option("--calib", search.calib, "Calibration text file (or a calibration cache folder, then "
                                                   "--search-text is needed)")->required();
    addCalibOptions(searchCmd, search.calibration);
    searchCmd->add_option("--method", search.search.method, "The method whose factors are tried (utilized, hybrid, "
                                                            "weight-svd or sfsd)")->capture_default_str();
    searchCmd->add_option("--search-text", search.search.searchText, "Text the perplexity is measured on (default: "
                                                                     "the calibration text)");
    searchCmd->add_option("--search-tokens", search.search.searchTokens, "Its first N tokens, in windows of the "
                                                                         "context (stride = context)")->capture_default_str();
    searchCmd->add_option("--delta", search.search.delta, "Budget: accept while ppl <= base x (1 + delta), base the "
                                                          "dense model's")->capture_default_str();
    searchCmd->add_option("--start-layer", search.search.startLayer, "Layers below it stay dense")->capture_default_str();
    searchCmd->add_option("--out", search.search.out, "The ranks JSON to write")->required();
    searchCmd->add_option("--log", search.search.log, "The trial log (default: OUT.log); an existing one is resumed");
    searchCmd->add_flag("--restart", search.search.restart, "Discard an existing log instead of resuming it");
    addRunOptions(searchCmd, search.run);
    searchCmd->add_flag("--json", search.json, "Print one JSON object as the last line");
    FinetuneArgs ft;
    auto* ftCmd = app.add_subcommand("finetune", "Heal a compressed (or dense) model: train coefficients, bases or LoRA on a text");
    {
        basis::FinetuneJobOptions& f = ft.finetune;
        basis::TrainOptions& t = f.train;
        ftCmd->add_option("--model", ft.model, kModelHelp)->required();
        ftCmd->add_option("--text", f.text, "Training text file (cut into --context chunks, shuffled with --seed)")->required();
        ftCmd->add_option("--eval-text", f.evalText, "Evaluation text: perplexity before, after and every --eval-every steps");
        ftCmd->add_option("--train", t.train, "coefficients (C_l, dense W, biases), bases (also every basis) or lora")->capture_default_str();
        ftCmd->add_option("--lora-rank", t.loraRank, "LoRA rank r")->capture_default_str();
        ftCmd->add_option("--lora-alpha", t.loraAlpha, "LoRA alpha (the adapter is scaled by alpha / r)")->capture_default_str();
        ftCmd->add_option("--lora-dropout", t.loraDropout, "Dropout on the adapters' input while training")->capture_default_str();
        ftCmd->add_option("--lora-targets", t.loraTargets, "Projections with an adapter (parts or modules)")->delimiter(',')->capture_default_str();
        ftCmd->add_option("--steps", t.steps, "Optimizer steps (0: from --tokens or --epochs)")->capture_default_str();
        ftCmd->add_option("--tokens", t.tokens, "Token budget (predicted tokens), when --steps is 0")->capture_default_str();
        ftCmd->add_option("--epochs", t.epochs, "Passes over the text, when --steps and --tokens are 0")->capture_default_str();
        ftCmd->add_option("--context", t.context, "Tokens per training chunk")->capture_default_str();
        ftCmd->add_option("--batch", t.batch, "Chunks per forward pass")->capture_default_str();
        ftCmd->add_option("--accumulation", t.accumulation, "Forward passes per optimizer step (gradient accumulation)")->capture_default_str();
        ftCmd->add_option("--lr", t.lr, "Peak learning rate (AdamW)")->capture_default_str();
        ftCmd->add_option("--min-lr", t.minLr, "Learning rate at the end of the cosine decay")->capture_default_str();
        ftCmd->add_option("--warmup", t.warmup, "Steps of linear warm-up")->capture_default_str();
        ftCmd->add_option("--beta1", t.beta1, "AdamW beta1")->capture_default_str();
        ftCmd->add_option("--beta2", t.beta2, "AdamW beta2")->capture_default_str();
        ftCmd->add_option("--eps", t.eps, "AdamW epsilon")->capture_default_str();
        ftCmd->add_option("--weight-decay", t.weightDecay, "AdamW decoupled weight decay")->capture_default_str();
        ftCmd->add_option("--clip", t.clip, "Max global gradient norm (0: no clipping)")->capture_default_str();
        ftCmd->add_option("--seed", t.seed, "Seed of the chunk order, the adapters and dropout")->capture_default_str();
        ftCmd->add_option("--precision", t.precision, "float32, bfloat16 (CPU autocast, float32 weights) or float64")->capture_default_str();
        ftCmd->add_option("--eval-every", t.evalEvery, "Steps between evaluations (0: before and after only)")->capture_default_str();
        ftCmd->add_option("--eval-context", t.evalContext, "Perplexity window of the evaluation (window-mean, as eval ppl)")->capture_default_str();
        ftCmd->add_option("--checkpoint", t.checkpoint, "Training checkpoint file (written every --checkpoint-every steps and on Ctrl+C)");
        ftCmd->add_option("--checkpoint-every", t.checkpointEvery, "Steps between checkpoints (0: only on a cancel)")->capture_default_str();
        ftCmd->add_flag("--resume", t.resume, "Continue from --checkpoint when it exists (same settings and text)");
        ftCmd->add_option("--bos", f.bos, "auto, always or never: BOS once at the start of each text")->capture_default_str();
        ftCmd->add_option("--out", f.out, "Output folder (compressed model, or dense for a dense model)")->required();
        ftCmd->add_option("--peft-out", f.peftOut, "With --train lora: also write the adapters in PEFT's layout here "
                                                 "(adapter_config.json, adapter_model.safetensors; base_model/ when compressed)");
        addRunOptions(ftCmd, ft.run);
        ftCmd->add_flag("--json", ft.json, "Print one JSON object as the last line");
    }

    ConfigArgs runArgs;
    auto* runCmd = app.add_subcommand("run", "Run a YAML config: calibrate, compress, update, save, evaluate");
    runCmd->add_option("--config", runArgs.config, "YAML file (published Basis Sharing keys + basis_studio)")->required();
    runCmd->add_option("--set", runArgs.set, "Override section.key=value (repeatable)");
    runCmd->add_flag("--json", runArgs.json, "Print the results JSON as the last line");
    ConfigArgs sweepArgs;
    auto* sweepCmd = app.add_subcommand("sweep", "Run a config's sweep: section (methods x budgets or ratios x group "
                                                 "sizes x allocators), calibrating once; each run is written to "
                                                 "sweep.results (JSONL, CSV beside) as it finishes, and a sweep started "
                                                 "again continues where it stopped");
    sweepCmd->add_option("--config", sweepArgs.config, "YAML file with a sweep: section")->required();
    sweepCmd->add_option("--set", sweepArgs.set, "Override section.key=value (repeatable)");
    sweepCmd->add_flag("--json", sweepArgs.json, "Print a summary JSON object as the last line");
    ConfigArgs checkArgs;
    auto* configCmd = app.add_subcommand("config", "YAML configs");
    configCmd->require_subcommand(1);
    auto* checkCmd = configCmd->add_subcommand("check", "Validate a config and print it fully resolved");
    checkCmd->add_option("file", checkArgs.config, "YAML file")->required();
    checkCmd->add_option("--set", checkArgs.set, "Override section.key=value (repeatable)");
    checkCmd->add_flag("--json", checkArgs.json, "Print one JSON object as the last line (after the resolved YAML)");

    ExportArgs exportArgs;
    auto* exportCmd = app.add_subcommand("export", "Export a compressed model");
    exportCmd->add_option("--model", exportArgs.model, "Compressed model folder (or builtin: / org/name as --model)")->required();
    exportCmd->add_flag("--dense", exportArgs.dense, "Reconstruct W = B C as an ordinary Hugging Face checkpoint")->required();
    exportCmd->add_option("--out", exportArgs.out, "Output folder")->required();
    exportCmd->add_flag("--json", exportArgs.json, "Print one JSON object as the last line");
    exportCmd->add_option("--shard-size", exportArgs.shardSize, "Largest safetensors shard of the output (as compress)")
        ->capture_default_str();

    RecoverArgs recover;
    auto* recoverCmd = app.add_subcommand("recover", "Repair what a killed save left beside an output folder");
    recoverCmd->add_option("--out", recover.out, "The output folder (model, export or calibration cache)")->required();
    recoverCmd->add_flag("--json", recover.json, "Print one JSON object as the last line");

    auto* evalCmd = app.add_subcommand("eval", "Evaluations");
    evalCmd->require_subcommand(1);
    PplArgs ppl;
    auto* pplCmd = evalCmd->add_subcommand("ppl", "Perplexity of a text file over context windows");
    pplCmd->add_option("--model", ppl.model, kModelHelp)->required();
    auto* pplText = pplCmd->add_option("--text", ppl.ppl.text, "UTF-8 text file, tokenized whole");
    auto* pplDataset = pplCmd->add_option("--dataset", ppl.ppl.dataset, "A preset instead: wikitext2, ptb, c4 or tinystories (built in: read without --data-dir)");
    pplText->excludes(pplDataset);
    pplCmd->add_option("--data-dir", ppl.ppl.dataDir, "Folder holding the presets' folders (wikitext-2-raw/, ptb/, c4/, ...); default: the built-in data (tinystories)");
    pplCmd->add_option("--split", ppl.ppl.split, "test, valid or train")->capture_default_str();
    pplCmd->add_option("--max-documents", ppl.ppl.maxDocuments, "c4: first N documents (0 = all)")->capture_default_str();
    pplCmd->add_option("--context", ppl.ppl.context, "Tokens per window")->capture_default_str();
    pplCmd->add_option("--stride", ppl.ppl.stride, "Tokens between window starts (default: the context)");
    pplCmd->add_option("--protocol", ppl.ppl.protocol, "window-mean or token-mean")->capture_default_str();
    pplCmd->add_option("--batch", ppl.ppl.batch, "Windows per forward pass (0 = automatic; the numbers do not change)")->capture_default_str();
    pplCmd->add_option("--bos", ppl.ppl.bos, "auto, always or never: BOS once at the start of the text")->capture_default_str();
    pplCmd->add_option("--passes", ppl.ppl.passes, "whole (every layer per forward pass), layerwise (one layer over "
                       "many windows: the model read once per chunk, for models bigger than memory) or auto "
                       "(layerwise when the weights exceed the memory available); the numbers do not change")
        ->check(CLI::IsMember({"auto", "whole", "layerwise"}))
        ->capture_default_str();
    addRankOptions(pplCmd, ppl.ppl.rank);
    addRunOptions(pplCmd, ppl.run);
    pplCmd->add_flag("--json", ppl.json, "Print one JSON object as the last line");

    ThroughputArgs tput;
    auto* tputCmd = evalCmd->add_subcommand("throughput", "Prefill and decode tokens/s, time to first token, peak memory");
    tputCmd->add_option("--model", tput.model, kModelHelp)->required();
    tputCmd->add_option("--compare", tput.compare, "A second model (as --model); runs alternate with the first");
    tputCmd->add_option("--batch", tput.throughput.batch, "Sequences per run")->capture_default_str();
    tputCmd->add_option("--prompt-len", tput.throughput.promptLen, "Prompt tokens per sequence (prefill)")->capture_default_str();
    tputCmd->add_option("--gen-len", tput.throughput.genLen, "New tokens per sequence (decode)")->capture_default_str();
    tputCmd->add_option("--warmup", tput.throughput.warmup, "Untimed runs first")->capture_default_str();
    tputCmd->add_option("--repeats", tput.throughput.repeats, "Timed runs (medians reported)")->capture_default_str();
    addRankOptions(tputCmd, tput.throughput.rank, false);
    addRunOptions(tputCmd, tput.run);
    tputCmd->add_flag("--json", tput.json, "Print one JSON object as the last line");

    MasksArgs masks;
    auto* masksCmd = evalCmd->add_subcommand("masks", "Which rank channels a dynamic-rank strategy computes per token of a text");
    masksCmd->add_option("--model", masks.model, kModelHelp)->required();
    masksCmd->add_option("--text", masks.masks.text, "The prompt text itself")->required();
    masksCmd->add_option("--bos", masks.masks.bos, "auto, always or never")->capture_default_str();
    addRankOptions(masksCmd, masks.masks.rank, false);
    masksCmd->get_option("--rank-strategy")->capture_default_str();
    masksCmd->get_option("--rank-energy")->capture_default_str();
    addRunOptions(masksCmd, masks.run);
    masksCmd->add_flag("--json", masks.json, "Print one JSON object (the masks and their statistics) as the last line");

    TasksArgs tasks;
    auto* tasksCmd = evalCmd->add_subcommand("tasks", "Zero-shot multiple choice scored like lm-evaluation-harness (acc, acc_norm)");
    tasksCmd->add_option("--model", tasks.model, kModelHelp)->required();
    tasksCmd->add_option("--task", tasks.tasks.task, "hellaswag, arc_easy, arc_challenge, piqa, winogrande, boolq, openbookqa or generic")->required();
    tasksCmd->add_option("--data", tasks.tasks.data, "JSONL file, one document per line")->required();
    tasksCmd->add_option("--limit", tasks.tasks.limit, "First N items (0 = all)")->capture_default_str();
    tasksCmd->add_option("--batch", tasks.tasks.batch, "Choices scored per forward pass")->capture_default_str();
    tasksCmd->add_option("--bos", tasks.tasks.bos, "never (lm-eval's default), auto (the tokenizer's add_bos_token) or always")->capture_default_str();
    addRunOptions(tasksCmd, tasks.run);
    auto* tasksJson = tasksCmd->add_flag("--json", tasks.json, "Print lm-evaluation-harness shaped results as one JSON line instead of the table");
    tasksCmd->add_flag("--json-pretty", tasks.jsonPretty, "The same JSON indented over several lines, for reading")->excludes(tasksJson);

    GenerateArgs gen;
    auto* genCmd = app.add_subcommand("generate", "Greedy text generation with the KV cache");
    genCmd->add_option("--model", gen.model, kModelHelp)->required();
    genCmd->add_option("--prompt", gen.generate.prompt, "Prompt text (empty: start from BOS)");
    genCmd->add_option("--max-new-tokens", gen.generate.maxNewTokens, "Tokens to generate")->required();
    genCmd->add_flag("--ignore-eos", gen.generate.ignoreEos, "Keep going past the end-of-sequence token");
    addRankOptions(genCmd, gen.generate.rank, false);
    addRunOptions(genCmd, gen.run);
    genCmd->add_flag("--json", gen.json, "Print one JSON object as the last line");

    SynthArgs synth;
    auto* synthCmd = app.add_subcommand("synth", "Write a RANDOMLY initialised checkpoint of a named shape");
    synthCmd->add_option("--shape", synth.shape,
                         "gpt2-124m, opt-125m, llama-tiny, llama2-7b, llama2-13b, tinyllama-1.1b, mistral-tiny, "
                         "mistral-7b, *-micro (all: an unknown name lists them)")->required();
    synthCmd->add_option("--dtype", synth.dtype, "Weight dtype: float32, bfloat16 or float16")->capture_default_str();
    synthCmd->add_option("--out", synth.out, "Output folder")->required();
    synthCmd->add_option("--seed", synth.seed, "Random seed")->capture_default_str();
    synthCmd->add_option("--tokenizer", synth.tokenizer, "Copy the tokenizer files of this model (as --model)");
    synthCmd->add_option("--layers", synth.layers, "Override the layer count");
    synthCmd->add_option("--hidden", synth.hidden, "Override the hidden size");
    synthCmd->add_option("--heads", synth.heads, "Override the attention heads");
    synthCmd->add_option("--kv-heads", synth.kvHeads, "Override the key/value heads (LLaMA, Mistral)");
    synthCmd->add_option("--intermediate", synth.intermediate, "Override the MLP size");
    synthCmd->add_option("--vocab", synth.vocab, "Override the vocabulary size");
    synthCmd->add_option("--max-positions", synth.maxPositions, "Override the maximum positions");
    synthCmd->add_flag("--json", synth.json, "Print one JSON object as the last line");

    auto* benchCmd = app.add_subcommand("bench", "Benchmarks");
    benchCmd->require_subcommand(1);
    BenchArgs bench;
    auto* benchFwd = benchCmd->add_subcommand("forward", "Evaluation throughput: one window forward + loss, against the GEMM rate");
    benchFwd->add_option("--model", bench.model, kModelHelp)->required();
    benchFwd->add_option("--context", bench.context, "Tokens per window")->capture_default_str();
    benchFwd->add_option("--threads", bench.threads, "Thread counts to measure, e.g. 1,2")->delimiter(',')->capture_default_str();
    benchFwd->add_option("--repeats", bench.repeats, "Timed repeats per setting (median reported)")->capture_default_str();
    benchFwd->add_option("--dtype", bench.dtype, "float32 or bfloat16")->capture_default_str();
    benchFwd->add_flag("--json", bench.json, "Print one JSON object as the last line");
    auto* benchPlan = benchCmd->add_subcommand("plan", "Time of one live parameter count (planCompression), 32-layer model");
    bool benchPlanJson = false;
    benchPlan->add_flag("--json", benchPlanJson, "Print one JSON object as the last line");
    BenchPplArgs benchPpl;
    auto* benchPplCmd = benchCmd->add_subcommand("ppl", "Perplexity the old way (one window at a time, matmul attention) beside batched windows and the fused kernel");
    benchPplCmd->add_option("--model", benchPpl.model, kModelHelp)->required();
    benchPplCmd->add_option("--text", benchPpl.text, "UTF-8 text file, tokenized whole (BOS auto)")->required();
    benchPplCmd->add_option("--context", benchPpl.context, "Tokens per window")->capture_default_str();
    benchPplCmd->add_option("--batches", benchPpl.batches, "Batches to compare, the first is the reference (0 = automatic)")->delimiter(',')->capture_default_str();
    benchPplCmd->add_option("--attention", benchPpl.attention, "Attention kernels to compare: matmul (the old path), fused (small heads)")
        ->delimiter(',')->check(CLI::IsMember({"matmul", "fused"}))->capture_default_str();
    benchPplCmd->add_option("--workers", benchPpl.workers, "Forward passes side by side to compare, one thread each (1 = the old path, 0 = automatic)")
        ->delimiter(',')->check(CLI::NonNegativeNumber)->capture_default_str();
    benchPplCmd->add_option("--threads", benchPpl.threads, "Threads")->capture_default_str();
    benchPplCmd->add_option("--repeats", benchPpl.repeats, "Runs per batch (best reported)")->capture_default_str();
    benchPplCmd->add_flag("--json", benchPpl.json, "Print one JSON object as the last line");
    BenchTokenizerArgs benchTok;
    auto* benchTokCmd = benchCmd->add_subcommand(
        "tokenizer", "Encode speed: GPT-2's hand-written pre-tokenizer against PCRE2 with the same pattern (ids must agree)");
    benchTokCmd->add_option("--tokenizer", benchTok.tokenizer, "GPT-2 tokenizer folder (vocab.json + merges.txt, or tokenizer.json)")->required();
    benchTokCmd->add_option("--text", benchTok.text, "Text file to encode (default: WikiText-2 test under --data-dir)");
    benchTokCmd->add_option("--data-dir", benchTok.dataDir, "Folder holding wikitext-2-raw/");
    benchTokCmd->add_option("--repeats", benchTok.repeats, "Timed repeats (best reported)")->capture_default_str();
    benchTokCmd->add_flag("--json", benchTok.json, "Print one JSON object as the last line");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version exit 0; a wrong option is a user error like any other: 1.
        return app.exit(e) == 0 ? 0 : 1;
    }

    try {
        // Only the chosen command's options are filled: the others stay empty and are skipped.
        resolveModelOptions({&inspect.model, &calibrate.model, &compress.model, &search.model, &ft.model,
                             &exportArgs.model, &ppl.model, &tput.model, &tput.compare, &tasks.model, &gen.model,
                             &synth.tokenizer, &bench.model, &benchPpl.model, &benchTok.tokenizer});
        if (*inspectCmd)
            return runInspect(inspect);
        if (*runCmd)
            return runPipelineCommand(runArgs);
        if (*checkCmd)
            return runConfigCheck(checkArgs);
        if (*sweepCmd)
            return runSweepCommand(sweepArgs);
        if (*calibrateCmd)
            return runCalibrate(calibrate);
        if (*compressCmd) {
            for (const char* flag : {"--ratio", "--budget", "--bits", "--rank", "--q-step", "--iters", "--factor-dtype"})
                if (compressCmd->count(flag) > 0)
                    compress.methodFlags.push_back(flag);
            return runCompress(compress);
        }
        if (*ftCmd)
            return runFinetune(ft);
        if (*exportCmd)
            return runExport(exportArgs);
        if (*searchCmd)
            return runSearch(search);
        if (*recoverCmd)
            return runRecover(recover);
        if (*pplCmd)
            return runEvalPpl(ppl);
        if (*tputCmd)
            return runEvalThroughput(tput);
        if (*masksCmd) {
            if (masksCmd->count("--rank-budget") > 0 && masksCmd->count("--rank-energy") == 0)
                masks.masks.rank.energy = 0;   // a budget given replaces the default tau
            return runEvalMasks(masks);
        }
        if (*tasksCmd)
            return runEvalTasks(tasks);
        if (*genCmd)
            return runGenerate(gen);
        if (*synthCmd)
            return runSynth(synth);
        if (*benchFwd)
            return runBenchForward(bench);
        if (*benchPplCmd)
            return runBenchPpl(benchPpl);
        if (*benchPlan)
            return runBenchPlan(benchPlanJson);
        if (*benchTokCmd)
            return runBenchTokenizer(benchTok);
    } catch (const basis::Cancelled&) {
        std::cerr << "basis-cli: cancelled\n";
        return 130;
    } catch (const basis::Error& e) {
        std::cerr << "basis-cli: error: " << e.what() << "\n";
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        // The environment said no (a read-only folder, a full disk): the user's to fix, with the path named.
        std::cerr << "basis-cli: error: " << (e.path1().empty() ? std::string() : e.path1().string() + ": ")
                  << e.code().message() << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "basis-cli: error: out of memory\n";
        return 1;
    } catch (const c10::Error& e) {
        std::cerr << "basis-cli: LibTorch error: " << e.what_without_backtrace() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "basis-cli: internal error: " << e.what() << "\n";
        return 2;
    }
    return 0;
}
