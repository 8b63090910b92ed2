#pragma once
// A parsed YAML run (run_config.h) as the options of the jobs (job_options.h), so that a key means the same in
// `basis-cli run` and in the studio. Torch-free. Every RunConfig field a job reads is read here and nowhere else.
#include "job_options.h"
#include "run_config.h"

#include <string>

namespace basis {

// basis_studio.device, dtype, threads.
RunSetup runSetupFrom(const RunConfig& c);

// The calibration text: basis_studio.calibration_text, else calibration_args.dataset_name's train split under
// basis_studio.data_dir; cut by calibration_size, model_args.context_length, sampling, seed, calib_batch_size and
// bos. calibration_args.calib_path is the cache (build_calib false: the pipeline loads it as it is instead).
CalibrateOptions calibrateOptionsFrom(const RunConfig& c);

// basis_studio.method, compression_ratio, group_size, share_part / private_part (labels resolved through the
// *_name keys: q -> self_attn.q_proj), after_calibration_update_args.update with basis_studio.update_text (default:
// the calibration text, read as the calibration is) and update_calib_path (a cache unless build_update_calib).
CompressOptions compressOptionsFrom(const RunConfig& c);

// The fine-tuning stage of lora_args: lora_r, lora_alpha, lora_learning_rate (constant, as the published trainer),
// lora_train_batch_size, lora_train_epoch (epochs of the text unless basis_studio.finetune_steps or finetune_tokens),
// lora_output_dir (when save_lora), lora_run_name; basis_studio.finetune_train, finetune_text (default: the
// calibration text, read as the calibration reads it), lora_targets (labels through the *_name keys), lora_dropout,
// seed, bos; model_args.context_length.
FinetuneJobOptions finetuneOptionsFrom(const RunConfig& c);

// One `evaluate:` entry. A run's evaluations measure the model it made: `compressed` is set.
// ppl: its text or dataset (under data_dir), context and stride (0: model_args.context_length / stride), protocol;
// basis_studio.bos.
PerplexityJobOptions perplexityOptionsFrom(const RunConfig& c, const PplEvaluation& e);
ThroughputJobOptions throughputOptionsFrom(const ThroughputEvaluation& t);
TasksJobOptions tasksOptionsFrom(const TasksEvaluation& t);

// The reverse, for an export (the studio's "Export settings"): a config that `basis-cli run` makes this model
// with. `base` (the config opened, or a default one) supplies every key the options do not hold (evaluations, saving
// paths, device, ...), so keys a front end does not show survive a round trip. Parts are named by their modules,
// which planCompression accepts without *_name keys.
RunConfig runConfigFrom(const std::filesystem::path& model, const ModelConfig& config, const CalibrateOptions& calibration,
                        const CompressionSettings& compression, RunConfig base = {});

// The results file's key of each evaluation: ppl_<dataset or file stem>_<context>, throughput_p<prompt>_g<gen>.
std::string evaluationName(const PerplexityJobOptions& o);
std::string evaluationName(const ThroughputJobOptions& o);

} // namespace basis
