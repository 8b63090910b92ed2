#!/usr/bin/env bash
# hostile_inputs.sh BASIS_CLI STORIES_DIR GPT2_GOLDEN_DIR GPT2_TOKENIZER_DIR WORK [BASIS_STUDIO]: inputs that crashed
# the tool or passed as valid get exit 1 and one line naming the file and what is wrong (never a signal, never
# exit 0 with garbage).
set -u
export OMP_WAIT_POLICY=PASSIVE
cli=$1 stories=$2 gpt2=$3 gpt2tok=$4 work=$5 studio=${6:-}
for d in "$stories" "$gpt2" "$gpt2tok"; do [ -d "$d" ] || { echo "SKIP: $d is absent"; exit 77; }; done
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0

# expect LABEL "FRAGMENT|FRAGMENT..." COMMAND...: exit status 1 and every fragment on stderr.
expect() {
  local label=$1 fragments=$2; shift 2
  local err s
  err=$("$@" 2>&1 >/dev/null); s=$?
  local missing=""
  IFS='|' read -ra parts <<< "$fragments"
  for f in "${parts[@]}"; do [[ $err == *"$f"* ]] || missing+=" '$f'"; done
  if [ $s -ne 1 ] || [ -n "$missing" ]; then
    echo "FAIL $label: status $s, lacks$missing: $(echo "$err" | tail -3)"; failures=$((failures + 1))
  else
    echo "ok $label: $(echo "$err" | grep -v '^\[' | tail -1)"
  fi
}

deep() { head -c 100000 /dev/zero | tr '\0' '['; head -c 100000 /dev/zero | tr '\0' ']'; }
copy() { rm -rf "$2" && cp -r "$1" "$2" && chmod -R u+w "$2"; }
for t in "$stories/../../data/tinystories-valid/eval.txt" "$stories/../../../data/tinystories-valid/eval.txt"; do
  [ -f "$t" ] && head -c 3000 "$t" > text.txt && break
done
[ -s text.txt ] || echo "Once upon a time there was a little cat who liked to play in the sun." > text.txt

# JSON nested 100,000 deep, at every key that crashed: exit 1 with the file and the key.
for key in hidden_size hidden_act rms_norm_eps tie_word_embeddings model_type; do
  copy "$stories" "deep-$key"
  { printf '{"model_type": "llama", "%s": ' "$key"; deep; printf '}'; } > "deep-$key/config.json"
  expect "deep config.json $key" "deep-$key/config.json|'$key|nested more than 64" "$cli" inspect --model "deep-$key"
done
copy "$stories" deep-bos
printf '{"add_bos_token": %s}' "$(deep)" > deep-bos/tokenizer_config.json
expect "deep tokenizer_config.json" "tokenizer_config.json|'add_bos_token|nested" "$cli" eval ppl --model deep-bos --text text.txt
copy "$gpt2" deep-pre && cp "$gpt2tok"/* deep-pre/ && rm -f deep-pre/vocab.json deep-pre/merges.txt
{ printf '{"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": '; deep; printf '}'; } > deep-pre/tokenizer.json
expect "deep tokenizer.json pre_tokenizer" "tokenizer.json|'pre_tokenizer|nested" "$cli" eval ppl --model deep-pre --text text.txt --context 64
copy "$gpt2" deep-vocab && cp "$gpt2tok"/* deep-vocab/ && rm -f deep-vocab/vocab.json deep-vocab/merges.txt
{ printf '{"model": {"type": "BPE", "vocab": {"!": '; deep; printf '}, "merges": []}}'; } > deep-vocab/tokenizer.json
expect "deep tokenizer.json vocab id" "tokenizer.json|'model.vocab.!|nested" "$cli" eval ppl --model deep-vocab --text text.txt --context 64

# A tokenizer of another model: ids past the embedding are an error, not LibTorch's index error (exit 2).
copy "$gpt2" othertok && cp "$gpt2tok"/tokenizer.json "$gpt2tok"/tokenizer_config.json othertok/
expect "tokenizer of another model" "othertok: token id|outside the model's 1000-token vocabulary" "$cli" eval ppl --model othertok --text text.txt --context 64

# Weights: NaN, a header length off by one, missing or mis-shaped tensors (also for inspect).
copy "$stories" nan
printf '\xff\xff\xff\x7f' | dd of=nan/model.safetensors bs=1 seek=$(( $(od -An -tu8 -N8 nan/model.safetensors) + 8 )) conv=notrunc status=none
expect "NaN weight" "model.safetensors|NaN or infinite" "$cli" eval ppl --model nan --text text.txt
copy "$stories" shifted
len=$(od -An -tu8 -N8 shifted/model.safetensors)
printf "$(printf '%016x' $((len - 1)) | sed 's/\(..\)/\1 /g' | awk '{for(i=8;i>=1;i--) printf "\\x%s", $i}')" | dd of=shifted/model.safetensors bs=1 conv=notrunc status=none
expect "header length off by one" "model.safetensors|end at byte" "$cli" eval ppl --model shifted --text text.txt
copy "$stories" misshaped
sed -i 's/"intermediate_size": [0-9]*/"intermediate_size": 100/' misshaped/config.json
expect "inspect mis-shaped tensor" "model.safetensors|has shape|expected" "$cli" inspect --model misshaped
copy "$stories" missing
sed -i 's/"num_hidden_layers": [0-9]*/"num_hidden_layers": 6/' missing/config.json
expect "inspect missing tensor" "missing tensor 'model.layers.5" "$cli" inspect --model missing
copy "$stories" huge
sed -i 's/"hidden_size": [0-9]*/"hidden_size": 1e308/' huge/config.json
expect "1e308 in config.json" "config.json|'hidden_size' must be an integer" "$cli" inspect --model huge

# A compressed folder whose compression section is broken.
"$cli" calibrate --model "$stories" --text text.txt --out calib --context 64 --spectra 0 >/dev/null 2>&1
"$cli" compress --model "$stories" --calib calib --ratio 30 --group-size 2 --out comp >/dev/null 2>&1
copy comp broken
sed -i 's/"layers": \[/"layers": ["x", /' broken/config.json
expect "broken compression section" "broken/config.json|malformed \"compression\" section" "$cli" eval ppl --model broken --text text.txt

# YAML: duplicated keys, empty save paths, threads.
printf 'model_args:\n  group_size: 2\n  group_size: 3\nbasis_studio:\n  model_path: %s\n  calibration_text: text.txt\n' "$stories" > dup.yaml
expect "duplicated YAML key" "dup.yaml:3:3|duplicate key 'model_args.group_size' (first at line 2)" "$cli" config check dup.yaml
printf 'model_saving:\n  save_untrained_model: true\n  untrained_model_path: ""\nbasis_studio:\n  model_path: %s\n  calibration_text: text.txt\n' "$stories" > nosave.yaml
expect "save with an empty path" "nosave.yaml:2|untrained_model_path is empty" "$cli" config check nosave.yaml
printf 'basis_studio:\n  model_path: %s\n  calibration_text: text.txt\n  threads: 100000\n' "$stories" > threads.yaml
expect "YAML threads 100000" "threads.yaml:4|basis_studio.threads 100000 is outside 0.." "$cli" config check threads.yaml
expect "--threads 2000" "--threads 2000 is outside 0.." "$cli" eval ppl --model "$stories" --text text.txt --threads 2000
expect "--threads -1" "--threads -1 is outside" "$cli" eval ppl --model "$stories" --text text.txt --threads -1

# Paths: a folder as the text, a parent that is a file, --out . over a user's folder, a wrong option.
expect "folder as --text" "calib: is a folder, not a file" "$cli" eval ppl --model "$stories" --text calib
echo x > afile
expect "parent is a file" "afile is a file, not a folder" "$cli" compress --model "$stories" --calib calib --ratio 30 --out afile/sub
mkdir -p userdir && echo "notes" > userdir/notes.txt
cd userdir; expect "--out . over a user's folder" "userdir: exists and was not written by Basis Studio" "$cli" compress --model "$stories" --calib ../calib --ratio 30 --out .; cd ..
[ "$(cat userdir/notes.txt)" = notes ] || { echo "FAIL: userdir/notes.txt changed"; failures=$((failures + 1)); }
expect "unknown option" "--frobnicate" "$cli" inspect --model "$stories" --frobnicate

# The studio logs the error and exits 1 (screenshot mode).
if [ -n "$studio" ]; then
  expect "studio: deep config.json" "deep-hidden_size/config.json|nested" env QT_QPA_PLATFORM=offscreen "$studio" --model deep-hidden_size --screenshot s1.png
  printf 'model_args: [1, 2\n' > broken.yaml
  expect "studio: malformed YAML" "broken.yaml|malformed YAML" env QT_QPA_PLATFORM=offscreen "$studio" --config broken.yaml --screenshot s2.png
fi

echo "$failures failure(s)"
[ $failures -eq 0 ]
