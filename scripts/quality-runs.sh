#!/usr/bin/env bash
# The methods table of docs/quality.md: trains 784x500 RBMs with each method and evaluates them with
# AIS (100 runs, the paper's ~14,500 inverse temperatures) on the 10,000 binarised MNIST test images.
# Usage: scripts/quality-runs.sh [OUT_DIR] [EPOCHS]   (needs a release build; ~15 minutes at EPOCHS=20)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/rbm-quality}
epochs=${2:-20}
bin=${CARGO_TARGET_DIR:-target}/release/rbm-lab
mkdir -p "$out"
# The shared recipe: binary data sampled each batch, Bernoulli visibles, Hinton's initialisation,
# lr 0.01, no momentum (momentum 0.9 made PCD markedly worse here), batch 100. Only the gradient
# estimator changes between rows.
common=(--hidden 500 --sampling bernoulli --binarize --init hinton --lr 0.01 --batch 100 --seed 1)
run() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  "$bin" train "$@" --out "$out/$name.safetensors" > "$out/$name.train.log"
  end=$(date +%s.%N)
  "$bin" eval "$out/$name.safetensors" --runs 100 > "$out/$name.eval.log"
  local test train
  test=$(grep '^test' "$out/$name.eval.log" | sed 's/.*: *//; s/ *(.*//')
  train=$(grep '^train' "$out/$name.eval.log" | sed 's/.*: *//; s/ *(.*//')
  printf '| %s | %s | %.1f min | %s | %s |\n' "$name" "$(grep -c '^epoch' "$out/$name.train.log")" \
    "$(echo "($end - $start) / 60" | bc -l)" "$test" "$train"
}
echo "| method | epochs | training time | test log-likelihood (AIS, ±3σ) | train log-likelihood |"
echo "| --- | --- | --- | --- | --- |"
run cd1 "${common[@]}" --k 1 --epochs "$epochs"
run cd10 "${common[@]}" --k 10 --epochs "$epochs"
run pcd1 "${common[@]}" --k 1 --method pcd --epochs "$epochs"
run centered-pcd1 "${common[@]}" --k 1 --method pcd --centering --epochs "$epochs"
# The tutorial's own algorithm (noisy mean-field CD-10 on intensities, lr 0.005, batch 64), for reference.
run tutorial-cd10 --hidden 500 --epochs "$(( epochs / 2 ))" --seed 1
