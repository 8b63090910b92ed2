# basis-cli compress with the feature-space methods and basis-cli search (issue 13): the errors, and each flag's
# value changing what the engine does (exact parameter counts of stories260K, calibrated on 8 chunks of 128 tokens).
set(FS_CAL --text ${CALIB} --samples 8 --context 128)
cli_error(fs_energy_above_one "energy must be in (0, 1]" compress --model ${STORIES} ${FS_CAL} --method utilized --energy 1.5 --out ${WORK}/never)
cli_error(fs_energy_zero "energy must be in (0, 1]" compress --model ${STORIES} ${FS_CAL} --method sfsd --energy 0 --out ${WORK}/never)
cli_error(fs_fraction_one "fraction must be in (0, 1)" compress --model ${STORIES} ${FS_CAL} --method sfsd --fraction 1 --out ${WORK}/never)
cli_error(fs_fraction_not_sfsd "is an sfsd setting" compress --model ${STORIES} ${FS_CAL} --method utilized --fraction 0.5 --out ${WORK}/never)
cli_error(fs_two_rank_rules "give one of --energy, --fraction and --ranks" compress --model ${STORIES} ${FS_CAL} --method sfsd --fraction 0.5 --energy 0.9 --out ${WORK}/never)
cli_error(fs_ratio_refused "not --ratio" compress --model ${STORIES} ${FS_CAL} --method utilized --ratio 20 --out ${WORK}/never)
cli_error(fs_ratio_required "--ratio is required by basis-sharing" compress --model ${STORIES} ${FS_CAL} --out ${WORK}/never)
cli_error(fs_energy_for_ratio_method "not of svd-llm" compress --model ${STORIES} ${FS_CAL} --method svd-llm --ratio 20 --energy 0.9 --out ${WORK}/never)
cli_error(fs_unknown_policy "unknown rank policy 'attn'" compress --model ${STORIES} ${FS_CAL} --method utilized --policy attn --out ${WORK}/never)

# Ranks files: stories260K's shape (llama, 5 layers), one for another model, one with a rank above min(m, d).
set(FS_SHAPE "\"projections\": {\"q\": {\"in\": 64, \"out\": 64}, \"k\": {\"in\": 64, \"out\": 32}, \"v\": {\"in\": 64, \"out\": 32}, \"o\": {\"in\": 64, \"out\": 64}, \"gate\": {\"in\": 64, \"out\": 172}, \"up\": {\"in\": 64, \"out\": 172}, \"down\": {\"in\": 172, \"out\": 64}}")
set(FS_EIGHTS "\"q\": [8,8,8,8,8], \"k\": [8,8,8,8,8], \"v\": [8,8,8,8,8], \"o\": [8,8,8,8,8], \"gate\": [8,8,8,8,8], \"up\": [8,8,8,8,8]")
file(WRITE ${WORK}/ranks-8.json "{\"format\": \"basis-studio-ranks/1\", \"model\": {\"architecture\": \"llama\", \"layers\": 5, ${FS_SHAPE}}, \"ranks\": {${FS_EIGHTS}, \"down\": [8,8,8,8,null]}}")
file(WRITE ${WORK}/ranks-other.json "{\"format\": \"basis-studio-ranks/1\", \"model\": {\"architecture\": \"llama\", \"layers\": 4, ${FS_SHAPE}}, \"ranks\": {}}")
file(WRITE ${WORK}/ranks-65.json "{\"format\": \"basis-studio-ranks/1\", \"model\": {\"architecture\": \"llama\", \"layers\": 5, ${FS_SHAPE}}, \"ranks\": {${FS_EIGHTS}, \"down\": [8,8,65,8,8]}}")
cli_error(fs_ranks_another_model "ranks-other.json: the ranks were made for another model" compress --model ${STORIES} ${FS_CAL} --method utilized --ranks ${WORK}/ranks-other.json --out ${WORK}/never)
cli_error(fs_rank_above_min "rank 65 of 'down' layer 2 is outside 1..min(m, d) = 64" compress --model ${STORIES} ${FS_CAL} --method utilized --ranks ${WORK}/ranks-65.json --out ${WORK}/never)

function(fs_compress name regex)
  add_test(NAME cli.fs_${name} COMMAND ${CLI} compress --model ${STORIES} ${FS_CAL} --out ${WORK}/fs-${name} --json ${ARGN})
  set_tests_properties(cli.fs_${name} PROPERTIES PASS_REGULAR_EXPRESSION "${regex}")
endfunction()
# Each value moves the counts: energy 0.9 / 0.95, the policy, a fraction, weight-svd's e_w, a ranks file (rank 8
# everywhere but the last down, dense: 8 x 1156 x 5 - 8 x 236 + 172 x 64 target weights; model 260032 - 226560 + 55360).
fs_compress(utilized_e90 "\"mlu\":0.3616.*\"model_parameters_after\":173860" --method utilized --energy 0.9)
fs_compress(utilized_e95 "\"model_parameters_after\":213004" --method utilized --energy 0.95)
fs_compress(utilized_qkv_heavier "\"policy\":\"qkv_heavier\".*\"model_parameters_after\":191756" --method utilized --energy 0.95 --policy qkv_heavier)
fs_compress(sfsd_f50 "\"model_parameters_after\":147972" --method sfsd --fraction 0.5)
fs_compress(weight_svd_e95 "\"model_parameters_after\":251008" --method weight-svd --energy 0.95)
fs_compress(ranks_file "\"model_parameters_after\":88832" --method utilized --ranks ${WORK}/ranks-8.json)

# The search: errors, and a small run whose ranks JSON compress accepts.
cli_error(fs_search_start_layer "--start-layer must be in 0..4" search --model ${STORIES} --calib ${CALIB} --samples 8 --context 128 --start-layer 5 --out ${WORK}/never.json)
cli_error(fs_search_method "does not pick a rank per projection" search --model ${STORIES} --calib ${CALIB} --samples 8 --context 128 --method svd --out ${WORK}/never.json)
add_test(NAME cli.fs_search_then_compress COMMAND bash -c
         "rm -f '${WORK}/fs-search.json' '${WORK}/fs-search.json.log' && '${CLI}' search --model ${STORIES} --calib ${CALIB} --samples 8 --context 128 --search-tokens 1024 --start-layer 4 --delta 1.0 --out '${WORK}/fs-search.json' --json | tail -1 && '${CLI}' compress --model ${STORIES} --text ${CALIB} --samples 8 --context 128 --method sfsd --ranks '${WORK}/fs-search.json' --out '${WORK}/fs-search-model' --json | tail -1")
set_tests_properties(cli.fs_search_then_compress PROPERTIES PASS_REGULAR_EXPRESSION
  "\"ranks\":\\{\"down\":\\[null,null,null,null,[0-9]+\\].*\"policy\":\"uniform\".*\"method\":\"sfsd\"")

# The YAML pipeline with a feature-space method: its keys reach the engine (the planned count is energy 0.95's on
# the first 8 chunks of 128 tokens of calib.txt, as compress gives it above).
file(WRITE ${WORK}/fs-pipeline.yaml "model_args:\n  context_length: 128\n  stride: 128\ncalibration_args:\n  calibration_size: 8\nmodel_saving:\n  untrained_model_path: ${WORK}/fs-pipeline-model\nbasis_studio:\n  model_path: builtin:stories260k\n  calibration_text: ${CALIB}\n  method: utilized\n  energy: 0.95\n  results_path: ${WORK}/fs-pipeline.json\n")
add_test(NAME cli.fs_pipeline_utilized COMMAND ${CLI} run --config ${WORK}/fs-pipeline.yaml --json)
set_tests_properties(cli.fs_pipeline_utilized PROPERTIES PASS_REGULAR_EXPRESSION "\"model_after\":213004")
