#!/usr/bin/env bash
# rank_strategy.sh CLI JSON_CHECK WORK CALIB EVAL: every dynamic-rank flag of eval ppl / eval throughput / generate /
# eval masks changes what the engine does, on stories260K compressed at 20 %, g = 2; --json ends with one object.
set -u
cli=$1 jcheck=$2 work=$3 calib=$4 eval=$5
rm -rf "$work"
mkdir -p "$work"
M="$work/bs20g2"
"$cli" compress --model builtin:stories260k --text "$calib" --context 128 --samples 8 --ratio 20 --group-size 2 --out "$M" >/dev/null 2>&1 ||
  { echo "FAIL: compress"; exit 1; }
failed=0
run() {   # name, command...
  local name=$1; shift
  "$cli" "$@" --json 2>"$work/$name.err" > "$work/$name.out" || { echo "FAIL: $name: $(tail -1 "$work/$name.err")"; failed=$((failed+1)); return; }
  tail -1 "$work/$name.out" > "$work/$name.json"
  "$jcheck" last-line < "$work/$name.out" >/dev/null || { echo "FAIL: $name: last line is not one JSON object"; failed=$((failed+1)); }
}
field() { sed -n "s/.*\"$2\":\([^,}]*\).*/\1/p" "$work/$1.json"; }
differ() {   # what, name a, name b, field
  local a b; a=$(field "$2" "$4"); b=$(field "$3" "$4")
  if [ -z "$a" ] || [ "$a" = "$b" ]; then echo "FAIL: $1 changed nothing ($4: '$a' vs '$b')"; failed=$((failed+1)); else echo "ok: $1 ($4 $a -> $b)"; fi
}
head -c 6000 "$eval" > "$work/eval-short.txt"   # a few windows keep the test to seconds
P="eval ppl --model $M --text $work/eval-short.txt --context 128"
run plain $P
run base $P --rank-strategy baseline
run gs75 $P --rank-strategy global-static --rank-budget 0.75
run gs50 $P --rank-strategy global-static --rank-budget 0.5
run pa50 $P --rank-strategy prompt-adaptive --rank-budget 0.5
run pt95 $P --rank-strategy per-token --rank-energy 0.95
run pt99 $P --rank-strategy per-token --rank-energy 0.99
run p32 $P --rank-strategy baseline --prompt-tokens 32
differ "--rank-strategy (baseline -> global-static)" base gs50 ppl
differ "--rank-strategy (global-static -> prompt-adaptive)" gs50 pa50 ppl
differ "--rank-budget" gs75 gs50 mean_rank_share
differ "--rank-energy" pt95 pt99 mean_rank_share
differ "--prompt-tokens" base p32 ppl
differ "the prompt protocol" plain base ppl
T="eval throughput --model $M --prompt-len 64 --gen-len 8 --warmup 0 --repeats 1"
run tbase $T --rank-strategy baseline
run tgs $T --rank-strategy global-static --rank-budget 0.5
run tpa $T --rank-strategy prompt-adaptive --rank-energy 0.9
differ "throughput --rank-strategy" tbase tgs multiply_add_ratio
differ "throughput --rank-energy" tgs tpa mean_rank_share
G="generate --model $M --prompt Once --max-new-tokens 8 --ignore-eos"
run g1 $G --rank-strategy per-token --rank-energy 0.5
run g2 $G --rank-strategy per-token --rank-energy 0.9
differ "generate --rank-energy" g1 g2 mean_rank_share
K="eval masks --model $M --text Once_upon_a_time"
run m1 $K
run m2 $K --rank-strategy global-static --rank-budget 0.5
differ "masks --rank-strategy" m1 m2 mean_rank_share
grep -q '"keep":\["' "$work/m2.json" && echo "ok: masks carry the keep rows" || { echo "FAIL: no keep rows"; failed=$((failed+1)); }
exit $failed
