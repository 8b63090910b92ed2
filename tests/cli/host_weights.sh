#!/usr/bin/env bash
# host_weights.sh CLI CALIB EVAL WORK: --weights host reaches the engine. The layers stay in CPU memory and each is
# copied to the compute device for its turn (here the CPU, the only device this machine has): the output says so,
# the JSON says weights host, perplexity goes a layer at a time by default and gives the resident model's
# numbers to the last printed digit, and calibration writes the resident calibration's statistics byte for byte.
# An unknown placement is refused by name.
set -u
cli=$1 calib=$2 eval=$3 work=$4
failed=0
rm -rf "$work"
mkdir -p "$work"
head -c 30000 "$eval" > "$work/eval.txt"
ppl() { "$cli" eval ppl --model builtin:stories260k --text "$work/eval.txt" --context 128 --passes "$1" --weights "$2" --json 2>/dev/null; }
resident=$(ppl layerwise device) host=$(ppl auto host)
a=$(printf '%s\n' "$resident" | grep -o 'window-mean PPL [0-9.]*, token-mean PPL [0-9.]*')
b=$(printf '%s\n' "$host" | grep -o 'window-mean PPL [0-9.]*, token-mean PPL [0-9.]*')
if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "ok   host weights give the resident $a"
else echo "FAIL: '$a' resident against '$b' with host weights"; failed=1; fi
case "$host" in *"weights: the layers in CPU memory, each copied to cpu for its turn"*) echo "ok   eval ppl says where the weights are";;
    *) echo "FAIL: eval ppl does not say the weights are on the host"; failed=1;; esac
case "$(printf '%s\n' "$host" | tail -n 1)" in *'"passes":"layerwise"'*'"weights":"host"'*|*'"weights":"host"'*'"passes":"layerwise"'*)
    echo "ok   JSON: weights host, passes layerwise by default";;
    *) echo "FAIL: the JSON lacks weights host or passes layerwise"; failed=1;; esac
case "$(printf '%s\n' "$resident" | tail -n 1)" in *'"weights":"device"'*) echo "ok   JSON: weights device by default";;
    *) echo "FAIL: the resident JSON does not say weights device"; failed=1;; esac
flags=(--model builtin:stories260k --text "$calib" --samples 6 --context 128 --spectra 0)
"$cli" calibrate "${flags[@]}" --out "$work/device" > /dev/null 2>&1 || { echo "FAIL: calibrate exit $?"; exit 1; }
out=$("$cli" calibrate "${flags[@]}" --out "$work/host" --weights host --json 2>/dev/null) || { echo "FAIL: calibrate --weights host"; exit 1; }
if cmp -s "$work/device/statistics.safetensors" "$work/host/statistics.safetensors"; then
    echo "ok   calibration with host weights writes the same statistics, byte for byte"
else echo "FAIL: the statistics differ with host weights"; failed=1; fi
case "$(printf '%s\n' "$out" | tail -n 1)" in *'"weights":"host"'*) echo "ok   calibrate's JSON says weights host";;
    *) echo "FAIL: calibrate's JSON does not say weights host"; failed=1;; esac
err=$("$cli" eval ppl --model builtin:stories260k --text "$work/eval.txt" --weights disk 2>&1 >/dev/null)
case "$err" in *"disk"*"device or host"*) echo "ok   --weights disk refused";; *) echo "FAIL: --weights disk: $err"; failed=1;; esac
exit $failed
