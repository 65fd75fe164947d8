#!/usr/bin/env bash
# rbm-lab's training speed beside its peers (benches/peers: the same algorithm in PyTorch, in the
# tutorial's form and in place, and in numpy), interleaved round by round on the same machine, with
# medians and ratios; then the machine's SGEMM on the training shape against rbm-lab's useful flops.
# Per round and setting: `rbm-lab bench` (the bare step), `rbm-lab train` for one epoch (what users
# run: the trainer thread with its monitors), and each peer for one epoch.
# Usage: scripts/bench-peers.sh [ROUNDS] [DATA_DIR]
#   ROUNDS: default 3. DATA_DIR: MNIST-style IDX folder (default: the repository's assets/, the MNIST
#   rbm-lab embeds). Env: PEERS_VENV (default $HOME/peers-venv, made by benches/peers/setup-venv.sh),
#   THREADS (default 2), BENCH_SECONDS (timed seconds of `rbm-lab bench`, default 5), BIN (default
#   $CARGO_TARGET_DIR/release/rbm-lab).
# Run it on a quiet machine: every figure is a speed.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
data=${2:-}
threads=${THREADS:-2}
seconds=${BENCH_SECONDS:-5}
venv=${PEERS_VENV:-$HOME/peers-venv}
bin=${BIN:-${CARGO_TARGET_DIR:-target}/release/rbm-lab}
py=$venv/bin/python
peers=benches/peers
[ -x "$bin" ] || { echo "build first: cargo build --release (or set BIN)" >&2; exit 1; }
[ -x "$py" ] || { echo "no Python environment in $venv: run $peers/setup-venv.sh $venv" >&2; exit 1; }
data_arg=()
data_pos=()
if [ -n "$data" ]; then
  data_arg=(--data "$data")
  data_pos=("$data")
fi
model=$(mktemp --suffix=.safetensors)
trap 'rm -f "$model"' EXIT

rate() { grep -o '[0-9.]* samples/s' | head -n1 | awk '{print $1}'; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where set for old OpenBLAS builds, slow a current one: unset
# for the Python commands only.
peer() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$@"; }
shape() { if [ "$1" = tutorial ]; then echo "256 10"; else echo "500 1"; fi; }

cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "rbm-lab and its peers on $cpu, $(date -u '+%Y-%m-%d %H:%M UTC'), $threads threads, $rounds rounds"

declare -A results
columns="bench train torch-tutorial torch-inplace numpy"
for round in $(seq 1 "$rounds"); do
  for setting in tutorial h500k1; do
    read -r hidden k < <(shape $setting)
    common=(--hidden "$hidden" --k "$k" --batch 64 --epochs 1 --threads "$threads")
    bench=$("$bin" bench --only $setting --seconds "$seconds" --threads "$threads" "${data_arg[@]}")
    # The line with the instruction sets and the subnormal mode, once.
    [ "$round.$setting" = 1.tutorial ] && echo "$bench" | sed -n 2p
    results[$setting.bench]+="$(echo "$bench" | rate) "
    results[$setting.train]+="$("$bin" train --hidden "$hidden" --k "$k" --epochs 1 --threads "$threads" \
      --out "$model" "${data_arg[@]}" | rate) "
    results[$setting.torch-tutorial]+="$(peer $peers/torch_rbm.py "${data_pos[@]}" "${common[@]}" --variant tutorial | rate) "
    results[$setting.torch-inplace]+="$(peer $peers/torch_rbm.py "${data_pos[@]}" "${common[@]}" --variant inplace | rate) "
    results[$setting.numpy]+="$(peer $peers/numpy_rbm.py "${data_pos[@]}" "${common[@]}" | rate) "
    line="round $round $setting:"
    for c in $columns; do line+=" $c $(echo "${results[$setting.$c]}" | awk '{print $NF}')"; done
    echo "$line samples/s"
  done
done

echo
echo "medians (samples/s) and rbm-lab train's ratio to each peer:"
printf '%-9s %9s %9s %15s %14s %9s %12s %12s %9s\n' setting bench train torch-tutorial torch-inplace numpy \
  vs-tutorial vs-inplace vs-numpy
declare -A med
for setting in tutorial h500k1; do
  for c in $columns; do med[$setting.$c]=$(echo "${results[$setting.$c]}" | median); done
  t=${med[$setting.train]}
  printf '%-9s %9.0f %9.0f %15.0f %14.0f %9.0f %11.2fx %11.2fx %8.2fx\n' $setting "${med[$setting.bench]}" "$t" \
    "${med[$setting.torch-tutorial]}" "${med[$setting.torch-inplace]}" "${med[$setting.numpy]}" \
    "$(echo "$t / ${med[$setting.torch-tutorial]}" | bc -l)" "$(echo "$t / ${med[$setting.torch-inplace]}" | bc -l)" \
    "$(echo "$t / ${med[$setting.numpy]}" | bc -l)"
done

# The machine's SGEMM on the training shape (64x784)@(784xH), best of PyTorch and numpy, against
# rbm-lab's useful flops: (2k+3)·2·784·H per sample.
echo
echo "$threads-thread SGEMM of the training shape (best of torch and numpy, $peers/matmul_bench.py) and rbm-lab's useful flops:"
sgemm=$(peer $peers/matmul_bench.py --threads "$threads" --hidden 256 500)
for setting in tutorial h500k1; do
  read -r hidden k < <(shape $setting)
  best=$(echo "$sgemm" | grep "^best vW (64x784)@(784x$hidden)" | sed 's/.*: \([0-9.]*\) GFLOP.*/\1/')
  for c in bench train; do
    useful=$(echo "${med[$setting.$c]} * (2 * $k + 3) * 2 * 784 * $hidden / 1000000000" | bc -l)
    printf '%-9s %-5s sgemm %6.1f GFLOP/s   rbm-lab %6.1f useful GFLOP/s = %3.0f%%\n' $setting $c "$best" "$useful" \
      "$(echo "100 * $useful / $best" | bc -l)"
  done
done
echo "$sgemm" | grep '^best square' | sed 's/^/  /'
