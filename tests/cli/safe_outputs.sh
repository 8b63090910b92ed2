#!/usr/bin/env bash
# safe_outputs.sh BASIS_CLI MODEL_DIR CALIB_TEXT EVAL_TEXT WORK: nothing a user had is lost.
# - --out refuses folders of someone else's files, the model being read and regular files (CLI and YAML);
# - a SIGKILL at every rename of a save (RENAME_EXCHANGE, and the journaled two-step rename forced by making
#   renameat2 fail with EINVAL) leaves the earlier output or the complete new one, after `recover`;
# - the calibration cache: a kill or a failed fsync while rewriting it leaves the earlier cache; --force --spectra 0
#   leaves no stale spectra; two writers of one cache: the second waits, the cache is whole.
# Faults are injected with strace (Debian package strace). Exit 0 when every check holds.
set -u
export OMP_WAIT_POLICY=PASSIVE   # spinning OpenMP threads are tens of times slower on a busy machine
cli=$1 model=$2 calib=$3 evaltext=$4 work=$5
command -v strace >/dev/null || { echo "SKIP: strace is not installed (apt-get install strace)"; exit 77; }
[ -d "$model" ] || { echo "SKIP: $model is absent"; exit 77; }
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

head -c 16000 "$calib" > calib.txt
head -c 12000 "$evaltext" > eval.txt
cp -r "$model" M && chmod -R u+w M

ppl() { "$cli" eval ppl --model "$1" --text eval.txt --context 128 --json 2>/dev/null | tail -1 | grep -o '"ppl":[0-9.e+-]*'; }
leftovers() { find "$(dirname "$1")" -maxdepth 1 -name ".$(basename "$1").*" | wc -l; }

"$cli" calibrate --model M --text calib.txt --out C --context 128 --spectra 1,2 >/dev/null 2>&1 || { echo "calibrate failed"; exit 1; }
compress() { "$cli" compress --model M --calib C --group-size 2 "$@"; }

# 1. Refusals: user folders, the input, files; the same through YAML and export.
mkdir -p U/sub && echo "four years" > U/thesis.txt && echo "1,2" > U/sub/data.csv
err=$(compress --ratio 30 --out U 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [[ $err == *"not written by Basis Studio"* ]] && [ "$(cat U/thesis.txt)" = "four years" ] && [ -f U/sub/data.csv ] \
  && ok "user folder refused: $err" || fail "user folder: status $s, $err"
err=$(compress --ratio 30 --out M 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [[ $err == *"is the folder being read"* ]] && [ -f M/model.safetensors ] && ok "input refused" || fail "input: $s $err"
echo "notes" > F.txt
err=$(compress --ratio 30 --out F.txt 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [[ $err == *"is a file, not a folder"* ]] && [ "$(cat F.txt)" = notes ] && ok "file refused" || fail "file: $s $err"
compress --ratio 30 --out X >/dev/null 2>&1 || fail "first compress"
err=$("$cli" export --model X --dense --out U 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [[ $err == *"not written by Basis Studio"* ]] && [ -f U/thesis.txt ] && ok "export refused" || fail "export: $s $err"
err=$("$cli" export --model X --dense --out X 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [[ $err == *"is the folder being read"* ]] && ok "export onto its input refused" || fail "export input: $s $err"
for target in M U; do
  cat > run-$target.yaml <<EOF
model_args: {group_size: 2, compression_ratio: 30, context_length: 128}
calibration_args: {build_calib: false, calib_path: C}
model_saving: {save_untrained_model: true, untrained_model_path: $target}
basis_studio: {model_path: M}
EOF
  err=$("$cli" run --config run-$target.yaml 2>&1 >/dev/null); s=$?
  [ $s -eq 1 ] && [[ $err == *"refusing"* || $err == *"being read"* ]] && [ -f M/model.safetensors ] && [ -f U/thesis.txt ] \
    && ok "YAML onto $target refused" || fail "YAML $target: $s $err"
done

# 2. Kills at every rename of a save into an existing output.
compress --ratio 30 --out EARLY >/dev/null 2>&1 && compress --ratio 40 --out LATE >/dev/null 2>&1 || fail "reference saves"
p0=$(ppl EARLY) p1=$(ppl LATE)
[ -n "$p0" ] && [ "$p0" != "$p1" ] || fail "reference perplexities '$p0' '$p1'"
scan() {   # scan LABEL SYSCALL EXTRA_STRACE_ARGS...
  local label=$1 sys=$2; shift 2
  for when in 1 2 3 4 5 6 7 8; do
    rm -rf X .X.* && cp -a EARLY X
    strace -f -qq -o /dev/null "$@" -e inject=$sys:signal=KILL:when=$when \
      "$cli" compress --model M --calib C --group-size 2 --ratio 40 --out X >/dev/null 2>&1
    local s=$? after=missing
    [ -d X ] && after=$(ppl X)
    "$cli" recover --out X >/dev/null 2>&1 || fail "$label kill at $sys #$when: recover failed"
    local now=$(ppl X)
    if [ "$(leftovers X)" -ne 0 ]; then fail "$label #$when: leftovers after recover"; fi
    if [ "$now" != "$p0" ] && [ "$now" != "$p1" ]; then fail "$label #$when: X holds neither output ($now)"; fi
    if [ "$after" != missing ] && [ "$after" != "$p0" ] && [ "$after" != "$p1" ]; then fail "$label #$when: X was half-written"; fi
    echo "  $label kill at $sys #$when: status $s, X right after: ${after}, after recover: $now"
    [ $s -eq 0 ] && break   # no more renames to kill at
  done
}
scan exchange renameat2 -e trace=renameat2
scan exchange rename -e trace=rename,renameat2
scan two-step rename -e trace=rename,renameat2 -e inject=renameat2:error=EINVAL
compress --ratio 40 --out X >/dev/null 2>&1 && [ "$(ppl X)" = "$p1" ] && [ "$(leftovers X)" -eq 0 ] \
  && ok "a normal save after the scans" || fail "final save"

# 3. The calibration cache.
sumc() { (cd "$1" && sha256sum statistics.safetensors calibration.json | sha256sum); }
old=$(sumc C)
"$cli" calibrate --model M --text calib.txt --out NEWC --context 128 --samples 12 --spectra 1,2 >/dev/null 2>&1
new=$(sumc NEWC)
for sys in rename renameat2; do
  for when in 1 2 3 4 5 6; do
    rm -rf Ck .Ck.* && cp -a C Ck
    strace -f -qq -o /dev/null -e trace=rename,renameat2 -e inject=$sys:signal=KILL:when=$when \
      "$cli" calibrate --model M --text calib.txt --out Ck --context 128 --samples 12 --spectra 1,2 --force >/dev/null 2>&1
    s=$?
    "$cli" recover --out Ck >/dev/null 2>&1
    now=$(sumc Ck 2>/dev/null)
    if [ "$now" != "$old" ] && [ "$now" != "$new" ]; then fail "cache kill at $sys #$when: mixed cache"; fi
    "$cli" inspect --model M --calib Ck --ratio 30 --group-size 2 >/dev/null 2>&1 || fail "cache kill at $sys #$when: cache unusable"
    [ "$(leftovers Ck)" -eq 0 ] || fail "cache kill at $sys #$when: leftovers"
    echo "  cache kill at $sys #$when: status $s, cache is $([ "$now" = "$old" ] && echo earlier || echo new)"
    [ $s -eq 0 ] && break
  done
done
rm -rf Ck && cp -a C Ck
err=$(strace -f -qq -o /dev/null -e trace=fsync -e inject=fsync:error=ENOSPC:when=3 \
  "$cli" calibrate --model M --text calib.txt --out Ck --context 128 --samples 12 --force 2>&1 >/dev/null); s=$?
[ $s -eq 1 ] && [ "$(sumc Ck)" = "$old" ] && [ "$(leftovers Ck)" -eq 0 ] && ok "ENOSPC on fsync: exit 1, earlier cache kept ($err)" \
  || fail "ENOSPC: status $s, $err"
"$cli" calibrate --model M --text calib.txt --out Ck --context 128 --spectra 0 --force >/dev/null 2>&1
err=$("$cli" inspect --model M --calib Ck --ratio 30 --group-size 2 2>&1 >/dev/null); s=$?
[ ! -e Ck/spectra.safetensors ] && [ $s -eq 1 ] && [[ $err == *"stores no spectra"* ]] && ok "--spectra 0 leaves no stale spectra" \
  || fail "stale spectra: $s $err"
rm -rf C2
"$cli" calibrate --model M --text calib.txt --out C2 --context 128 --spectra 1,2 --force > a.out 2> a.err &
pa=$!
# The second writer starts once the first holds the lock (its lock file carries its pid), however slow the machine.
for _ in $(seq 1200); do [ -s .C2.lock ] && break; kill -0 $pa 2>/dev/null || break; sleep 0.05; done
[ -s .C2.lock ] || fail "two writers: the first writer never held the lock"
# Stopped, the first writer keeps the lock until the second has said it waits: no race between the second's start-up
# and the end of the first's work, however loaded the machine (ctest -j2 with a build beside it).
kill -STOP $pa
"$cli" calibrate --model M --text calib.txt --out C2 --context 128 --samples 12 --spectra 1,2 --force > b.out 2> b.err &
pb=$!
for _ in $(seq 1200); do grep -q "waiting" b.err && break; kill -0 $pb 2>/dev/null || break; sleep 0.05; done
kill -CONT $pa
wait $pa; sa=$?; wait $pb; sb=$?
stats() { sha256sum < "$1/statistics.safetensors"; }
st=$(stats C2)
if [ $sa -eq 0 ] && [ $sb -eq 0 ] && grep -q "waiting" a.err b.err && "$cli" compress --model M --calib C2 --ratio 30 --group-size 2 --out Y >/dev/null 2>&1 \
   && { [ "$st" = "$(stats C)" ] || [ "$st" = "$(stats NEWC)" ]; }; then ok "two writers of one cache: one waited for the other, the cache is whole"
else fail "two writers: $sa $sb; $(cat a.err b.err | grep -v '^\[' | head -5)"; fi

echo "$failures failure(s)"
[ $failures -eq 0 ]
