#!/usr/bin/env bash
# shard_size.sh CLI CALIB EVAL WORK: --shard-size reaches the writers. compress (streamed) and export --dense
# write shards with an index when a shard is smaller than the model and one model.safetensors otherwise; the
# sharded compressed folder gives the single file's perplexity to the last digit; a bad size is refused by name.
set -u
cli=$1 calib=$2 eval=$3 work=$4
failed=0
rm -rf "$work"
mkdir -p "$work"
head -c 30000 "$eval" > "$work/eval.txt"
flags=(--model builtin:stories260k --text "$calib" --samples 8 --ratio 30 --group-size 2)
"$cli" compress "${flags[@]}" --out "$work/one" > /dev/null 2>&1 || { echo "FAIL: compress exit $?"; exit 1; }
"$cli" compress "${flags[@]}" --out "$work/sharded" --shard-size 50KB > /dev/null 2>&1 || { echo "FAIL: sharded compress exit $?"; exit 1; }
if [ -f "$work/one/model.safetensors" ] && [ ! -e "$work/one/model.safetensors.index.json" ]; then echo "ok   default: one file"
else echo "FAIL: default shard size did not give one model.safetensors"; failed=1; fi
n=$(ls "$work/sharded" | grep -c '^model-.*-of-.*\.safetensors$')
if [ -f "$work/sharded/model.safetensors.index.json" ] && [ "$n" -ge 3 ] && [ ! -e "$work/sharded/model.safetensors" ]; then
    echo "ok   --shard-size 50KB: $n shards and an index"
else echo "FAIL: --shard-size 50KB gave $n shards"; failed=1; fi
ppl() { "$cli" eval ppl --model "$1" --text "$work/eval.txt" 2>/dev/null | grep -o 'window-mean PPL [0-9.]*'; }
a=$(ppl "$work/one") b=$(ppl "$work/sharded")
if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "ok   same perplexity: $a"; else echo "FAIL: perplexity '$a' against '$b'"; failed=1; fi
"$cli" export --model "$work/sharded" --dense --out "$work/dense" --shard-size 100KB > /dev/null 2>&1 || { echo "FAIL: export exit $?"; failed=1; }
if [ -f "$work/dense/model.safetensors.index.json" ]; then echo "ok   export --shard-size 100KB: an index"; else echo "FAIL: export wrote no index"; failed=1; fi
err=$("$cli" compress "${flags[@]}" --out "$work/bad" --shard-size 5XB 2>&1 >/dev/null)
case "$err" in *"--shard-size '5XB'"*) echo "ok   bad size refused";; *) echo "FAIL: bad size: $err"; failed=1;; esac
[ ! -e "$work/bad" ] || { echo "FAIL: a refused command wrote $work/bad"; failed=1; }
exit $failed
