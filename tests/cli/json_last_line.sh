#!/usr/bin/env bash
# json_last_line.sh CLI JSON_CHECK WORK RESOURCES: runs every basis-cli command that has --json on the built-in
# stories260K and its TinyStories texts, and checks README's promise: the last line of standard output is one JSON
# object. Also that eval tasks --json-pretty is the same object over several lines.
set -u
cli=$1 check=$2 work=$3 resources=$4
rm -rf "$work"
mkdir -p "$work"
text="$work/story.txt"
head -c 6000 "$resources/data/tinystories-valid/eval.txt" > "$text"
printf '%s\n' '{"context": "The cat sat on the", "choices": ["mat", "moon"], "label": 0}' \
              '{"context": "Lily went to the", "choices": ["park", "sky"], "label": 0}' > "$work/tasks.jsonl"
cat > "$work/run.yaml" <<YAML
model_args: {group_size: 2, compression_ratio: 30, context_length: 64, stride: 64}
calibration_args: {calibration_size: 4}
model_saving: {save_untrained_model: true, untrained_model_path: $work/run-model}
basis_studio:
  model_path: builtin:stories260k
  calibration_text: $text
  evaluate:
    - ppl: {text: $text}
YAML
M=builtin:stories260k
failed=0
run() {
  local name=$1; shift
  local out
  out=$("$@" 2>"$work/$name.err")
  local status=$?
  if [ $status -ne 0 ]; then
    echo "FAIL $name: exit $status: $(tail -n 2 "$work/$name.err")"; failed=1; return
  fi
  if printf '%s\n' "$out" | "$check" last-line > "$work/$name.check" 2>&1; then
    echo "ok   $name: last line of $(printf '%s\n' "$out" | wc -l) is one JSON object ($(cat "$work/$name.check"))"
  else
    echo "FAIL $name: $(cat "$work/$name.check")"; failed=1
  fi
}
run inspect            "$cli" inspect --model $M --json
run inspect_ratio      "$cli" inspect --model $M --ratio 20 --group-size 2 --json
run calibrate          "$cli" calibrate --model $M --text "$text" --out "$work/calib" --samples 4 --context 64 --force --json
run compress           "$cli" compress --model $M --calib "$work/calib" --ratio 30 --group-size 2 --out "$work/compressed" --json
run eval_ppl           "$cli" eval ppl --model $M --text "$text" --context 64 --json
run eval_throughput    "$cli" eval throughput --model $M --compare "$work/compressed" --prompt-len 8 --gen-len 4 --repeats 1 --json
run eval_tasks         "$cli" eval tasks --model $M --task generic --data "$work/tasks.jsonl" --json
run generate           "$cli" generate --model $M --prompt "Once upon a time" --max-new-tokens 8 --json
run bench_forward      "$cli" bench forward --model $M --context 64 --threads 1 --repeats 1 --json
run run                "$cli" run --config "$work/run.yaml" --json
run export_dense       "$cli" export --model "$work/compressed" --dense --out "$work/dense" --shard-size 300KB --json
run recover            "$cli" recover --out "$work/dense" --json
run synth              "$cli" synth --shape llama-micro --layers 2 --dtype bfloat16 --out "$work/synth" --json
run config_check       "$cli" config check "$work/run.yaml" --json
run bench_plan         "$cli" bench plan --json
run sweep              "$cli" sweep --config "$work/run.yaml" --set "sweep.methods=[svd]" --set "sweep.budgets=[30]" \
                       --set "sweep.results=$work/sweep/results.jsonl" --json

# Every command has --json: the leaves of the command tree, read from --help, so a new command is checked too.
subcommands() { "$cli" "$@" --help 2>/dev/null | sed -n '/^Subcommands:/,$p' | awk 'NR > 1 && NF > 0 {print $1}'; }
for top in $(subcommands); do
  subs=$(subcommands "$top")
  for leaf in ${subs:-""}; do
    if ! "$cli" $top $leaf --help 2>/dev/null | grep -q -- '--json'; then
      echo "FAIL basis-cli $top $leaf: no --json option"; failed=1
    fi
  done
done

# --json-pretty: for reading; several lines that together are the same object.
pretty=$("$cli" eval tasks --model $M --task generic --data "$work/tasks.jsonl" --json-pretty 2>/dev/null)
lines=$(printf '%s\n' "$pretty" | wc -l)
if [ "$lines" -gt 5 ] && printf '%s\n' "$pretty" | "$check" whole > /dev/null; then
  echo "ok   eval_tasks --json-pretty: one object over $lines lines"
else
  echo "FAIL eval_tasks --json-pretty: $lines lines, not one indented object"; failed=1
fi
exit $failed
