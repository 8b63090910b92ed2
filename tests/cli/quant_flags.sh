#!/usr/bin/env bash
# quant_flags.sh CLI WORK CALIB: every flag of the quantizing methods changes what the engine does (bits, rank,
# q step, iterations and factor dtype on caldera; bits on rtn), read back from the saved folders; inspect prints
# bytes per part and --json carries them.
set -u
cli=$1 work=$2 calib=$3
rm -rf "$work"
mkdir -p "$work"
M=builtin:stories260k
"$cli" calibrate --model $M --text "$calib" --samples 4 --context 64 --out "$work/calib" >/dev/null 2>&1 || { echo "FAIL: calibrate"; exit 1; }
failed=0
comp() {   # name, flags...
  local name=$1; shift
  "$cli" compress --model $M --calib "$work/calib" "$@" --out "$work/$name" --json 2>/dev/null | tail -1 > "$work/$name.json" ||
    { echo "FAIL: compress $name"; failed=$((failed+1)); }
}
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$work/$1.json"; }
differ() {   # what, file a, file b
  if cmp -s "$2" "$3"; then echo "FAIL: $1 changed nothing"; failed=$((failed+1)); else echo "ok: $1"; fi
}
comp base --method caldera --bits 4 --rank 8 --q-step rtn --iters 2
comp bits --method caldera --bits 2 --rank 8 --q-step rtn --iters 2
comp rank --method caldera --bits 4 --rank 4 --q-step rtn --iters 2
comp qstep --method caldera --bits 4 --rank 8 --q-step ldlq --iters 2
comp iters --method caldera --bits 4 --rank 8 --q-step rtn --iters 3
comp fdtype --method caldera --bits 4 --rank 8 --q-step rtn --iters 2 --factor-dtype float32
comp rtn4 --method rtn --bits 4
comp rtn3 --method rtn --bits 3
for n in bits rank qstep fdtype; do differ "--$n" "$work/base/model.safetensors" "$work/$n/model.safetensors"; done
differ "rtn --bits" "$work/rtn4/model.safetensors" "$work/rtn3/model.safetensors"
[ "$(field bits model_bytes_after)" -lt "$(field base model_bytes_after)" ] && echo "ok: 2 bits are fewer bytes" ||
  { echo "FAIL: --bits 2 bytes $(field bits model_bytes_after) vs $(field base model_bytes_after)"; failed=$((failed+1)); }
[ "$(field fdtype model_bytes_after)" -gt "$(field base model_bytes_after)" ] && echo "ok: float32 factors are more bytes" ||
  { echo "FAIL: --factor-dtype bytes"; failed=$((failed+1)); }
# Three iterations record three errors per projection.
n=$(grep -o '"iteration_errors"' "$work/iters/config.json" | wc -l)
e=$(tr -d ' \n' < "$work/iters/config.json" | grep -o '"iteration_errors":\[[^]]*\]' | head -1 | tr -cd ',' | wc -c)
[ "$n" -eq 35 ] && [ "$e" -eq 2 ] && echo "ok: --iters 3" || { echo "FAIL: --iters: $n projections, $e commas"; failed=$((failed+1)); }
# inspect: bytes per part, as stored, in the text and the JSON.
"$cli" inspect --model "$work/base" > "$work/inspect.txt" 2>&1 && grep -q "Bytes as stored" "$work/inspect.txt" &&
  "$cli" inspect --model "$work/base" --json | tail -1 | grep -q '"bytes":{"other":' && echo "ok: inspect bytes" ||
  { echo "FAIL: inspect bytes"; failed=$((failed+1)); }
# The saved model evaluates.
"$cli" eval ppl --model "$work/qstep" --text "$calib" --context 64 --json 2>/dev/null | tail -1 | grep -q '"ppl":' &&
  echo "ok: eval ppl of a caldera model" || { echo "FAIL: eval ppl"; failed=$((failed+1)); }
[ $failed -eq 0 ] || { echo "$failed failure(s)"; exit 1; }
