#!/usr/bin/env bash
# activations.sh CLI CALIB WORK: calibrate --activations reaches the streamed calibration. disk keeps every
# sample's activations in a scratch file beside the cache (the output and the JSON say so, and nothing is left in
# the folder) and writes the in-memory run's statistics byte for byte; an unknown place is refused by name.
set -u
cli=$1 calib=$2 work=$3
failed=0
rm -rf "$work"
mkdir -p "$work/m" "$work/d"
flags=(--model builtin:stories260k --text "$calib" --samples 12 --context 128 --batch 5 --spectra 0 --json)
mem=$("$cli" calibrate "${flags[@]}" --out "$work/m/c" --activations memory 2>/dev/null) || { echo "FAIL: calibrate memory"; exit 1; }
disk=$("$cli" calibrate "${flags[@]}" --out "$work/d/c" --activations disk 2>/dev/null) || { echo "FAIL: calibrate disk"; exit 1; }
if cmp -s "$work/m/c/statistics.safetensors" "$work/d/c/statistics.safetensors"; then
    echo "ok   activations on disk give the same statistics, byte for byte"
else echo "FAIL: the statistics differ with the activations on disk"; failed=1; fi
case "$disk" in *"activations:"*"in a scratch file beside the cache"*) echo "ok   calibrate says the activations went to disk";;
    *) echo "FAIL: calibrate does not say the activations went to disk"; failed=1;; esac
case "$(printf '%s\n' "$disk" | tail -n 1)" in *'"activations":"disk"'*) echo "ok   JSON: activations disk";;
    *) echo "FAIL: the JSON does not say activations disk"; failed=1;; esac
case "$(printf '%s\n' "$mem" | tail -n 1)" in *'"activations":"memory"'*) echo "ok   JSON: activations memory";;
    *) echo "FAIL: the JSON does not say activations memory"; failed=1;; esac
left=$(ls -A "$work/d")
if [ "$left" = "c" ]; then echo "ok   no scratch file left beside the cache"
else echo "FAIL: left beside the cache: $left"; failed=1; fi
err=$("$cli" calibrate --model builtin:stories260k --text "$calib" --samples 2 --context 128 --out "$work/x" --activations swap 2>&1 >/dev/null)
case "$err" in *"swap"*"auto, memory or disk"*) echo "ok   --activations swap refused";; *) echo "FAIL: --activations swap: $err"; failed=1;; esac
exit $failed
