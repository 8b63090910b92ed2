#!/usr/bin/env bash
# passes.sh CLI EVAL WORK: eval ppl --passes reaches the evaluation. layerwise goes a layer at a time (the output
# says so and counts the chunks) and gives whole's perplexity to the last printed digit, on the dense built-in
# model and on a compressed folder; run's YAML key does the same; an unknown value is refused by name.
set -u
cli=$1 eval=$2 work=$3
failed=0
rm -rf "$work"
mkdir -p "$work"
head -c 30000 "$eval" > "$work/eval.txt"
"$cli" compress --model builtin:stories260k --ratio 30 --method svd --out "$work/svd" > /dev/null 2>&1 ||
    { echo "FAIL: compress exit $?"; exit 1; }
for model in builtin:stories260k "$work/svd"; do
    out() { "$cli" eval ppl --model "$model" --text "$work/eval.txt" --context 128 --passes "$1" --json 2>/dev/null; }
    whole=$(out whole) layerwise=$(out layerwise)
    a=$(printf '%s\n' "$whole" | grep -o 'window-mean PPL [0-9.]*, token-mean PPL [0-9.]*')
    b=$(printf '%s\n' "$layerwise" | grep -o 'window-mean PPL [0-9.]*, token-mean PPL [0-9.]*')
    if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "ok   $model: layerwise gives whole's $a"
    else echo "FAIL $model: '$a' whole against '$b' layerwise"; failed=1; fi
    case "$(printf '%s\n' "$whole" | tail -n 1)" in *'"passes":"whole"'*) echo "ok   $model: whole says whole";;
        *) echo "FAIL $model: whole's JSON does not say passes whole"; failed=1;; esac
    case "$layerwise" in *"a layer at a time over the windows"*'"passes":"layerwise"'*) echo "ok   $model: layerwise says so";;
        *) echo "FAIL $model: layerwise's output does not say it went a layer at a time"; failed=1;; esac
done
cat > "$work/run.yaml" <<YAML
model_args: {group_size: 2, compression_ratio: 30, context_length: 128, stride: 128}
calibration_args: {calibration_size: 4}
basis_studio:
  model_path: builtin:stories260k
  calibration_text: $work/eval.txt
  method: svd
  evaluate:
    - ppl: {text: $work/eval.txt, passes: layerwise}
YAML
if "$cli" run --config "$work/run.yaml" --json 2>/dev/null | tail -n 1 | grep -q '"passes":"layerwise"'; then
    echo "ok   run: passes: layerwise reaches the evaluation"
else echo "FAIL: run with passes: layerwise did not evaluate layerwise"; failed=1; fi
err=$("$cli" eval ppl --model builtin:stories260k --text "$work/eval.txt" --passes layers 2>&1 >/dev/null)
case "$err" in *"--passes"*) echo "ok   --passes layers refused";; *) echo "FAIL: --passes layers: $err"; failed=1;; esac
exit $failed
