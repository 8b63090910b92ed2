#!/usr/bin/env bash
# stats_dtype.sh CLI CALIB WORK: calibrate --stats-dtype reaches the cache: float32 stores H in about half the
# bytes and says so in calibration.json, compress reads such a cache, and another dtype is refused by name.
set -u
cli=$1 calib=$2 work=$3
failed=0
rm -rf "$work"
mkdir -p "$work"
flags=(--model builtin:stories260k --text "$calib" --samples 8 --context 128 --spectra 0)
"$cli" calibrate "${flags[@]}" --out "$work/f64" > /dev/null 2>&1 || { echo "FAIL: calibrate exit $?"; exit 1; }
"$cli" calibrate "${flags[@]}" --out "$work/f32" --stats-dtype float32 > /dev/null 2>&1 || { echo "FAIL: calibrate float32 exit $?"; exit 1; }
a=$(stat -c %s "$work/f64/statistics.safetensors") b=$(stat -c %s "$work/f32/statistics.safetensors")
if [ $((b * 100)) -lt $((a * 55)) ]; then echo "ok   float32 statistics: $b bytes against $a"; else echo "FAIL: $b bytes against $a"; failed=1; fi
if grep -q '"statistics_dtype": "float32"' "$work/f32/calibration.json"; then echo "ok   calibration.json says float32"
else echo "FAIL: calibration.json does not say float32"; failed=1; fi
"$cli" compress --model builtin:stories260k --calib "$work/f32" --ratio 30 --out "$work/m" > /dev/null 2>&1 &&
    [ -f "$work/m/config.json" ] && echo "ok   compress reads a float32 cache" || { echo "FAIL: compress from the float32 cache"; failed=1; }
err=$("$cli" calibrate "${flags[@]}" --out "$work/bad" --stats-dtype float16 2>&1 >/dev/null)
case "$err" in *"--stats-dtype"*) echo "ok   float16 refused";; *) echo "FAIL: float16: $err"; failed=1;; esac
exit $failed
