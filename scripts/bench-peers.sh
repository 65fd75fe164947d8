#!/usr/bin/env bash
# rbm-lab's training speed beside the peers (../shared/peers: PyTorch in-place and numpy, the same
# algorithm), interleaved in one run on the same machine, with the ratios.
# Usage: scripts/bench-peers.sh [PEERS_DIR] [ROUNDS]
#   PEERS_DIR: a writable copy of ../shared/peers with its .venv set up (setup_venv.sh); default /tmp/peers
# Needs a release build (cargo build --release).
set -euo pipefail
cd "$(dirname "$0")/.."
peers=${1:-/tmp/peers}
rounds=${2:-3}
data=$(realpath ../shared/data/mnist)
bin=${CARGO_TARGET_DIR:-target}/release/rbm-lab
py=$peers/.venv/bin/python
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
[ -x "$py" ] || { echo "no venv in $peers: cp -r ../shared/peers $peers && bash $peers/setup_venv.sh" >&2; exit 1; }

rate() { grep -o '[0-9.]* samples/s' | head -n1 | awk '{print $1}'; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A results
for round in $(seq 1 "$rounds"); do
  for setting in tutorial h500k1; do
    if [ $setting = tutorial ]; then hidden=256; k=10; else hidden=500; k=1; fi
    ours=$("$bin" bench --only $setting --seconds 5 --threads 2 | rate)
    torch=$("$py" "$peers/torch_rbm.py" "$data" --hidden $hidden --k $k --batch 64 --epochs 1 --threads 2 --variant inplace | rate)
    # OPENBLAS_CORETYPE/L2_SIZE slow a current numpy here (see the env notes); unset for this command only.
    numpy=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$peers/numpy_rbm.py" "$data" --hidden $hidden --k $k --batch 64 --epochs 1 --threads 2 | rate)
    echo "round $round $setting: rbm-lab $ours, torch-inplace $torch, numpy $numpy samples/s"
    results[$setting.ours]+="$ours "
    results[$setting.torch]+="$torch "
    results[$setting.numpy]+="$numpy "
  done
done
echo
printf '%-9s %12s %14s %12s %10s %10s\n' setting rbm-lab torch-inplace numpy vs-torch vs-numpy
for setting in tutorial h500k1; do
  o=$(echo ${results[$setting.ours]} | tr ' ' '\n' | median)
  t=$(echo ${results[$setting.torch]} | tr ' ' '\n' | median)
  n=$(echo ${results[$setting.numpy]} | tr ' ' '\n' | median)
  printf '%-9s %12.0f %14.0f %12.0f %9.2fx %9.2fx\n' $setting "$o" "$t" "$n" "$(echo "$o / $t" | bc -l)" "$(echo "$o / $n" | bc -l)"
done

# The machine's 2-thread SGEMM on the training shapes (64x784)@(784xH), best of PyTorch and numpy
# (OpenBLAS), against rbm-lab's useful flops: (2k+3)·2·784·H per sample.
echo
echo "2-thread SGEMM of the training shape (best of torch / numpy, matmul_bench.py), and rbm-lab's useful flops:"
sgemm=$(env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$py" "$peers/matmul_bench.py" --threads 2 --hidden 256 500)
for setting in tutorial h500k1; do
  if [ $setting = tutorial ]; then hidden=256; k=10; else hidden=500; k=1; fi
  best=$(echo "$sgemm" | grep "vW .*(784x$hidden):" | sed 's/.*best \([0-9.]*\).*/\1/' | sort -g | tail -n1)
  o=$(echo ${results[$setting.ours]} | tr ' ' '\n' | median)
  useful=$(echo "$o * (2 * $k + 3) * 2 * 784 * $hidden / 1000000000" | bc -l)
  printf '%-9s sgemm %6.1f GFLOP/s   rbm-lab %6.1f useful GFLOP/s = %3.0f%%\n' $setting "$best" "$useful" \
    "$(echo "100 * $useful / $best" | bc -l)"
done
echo "$sgemm" | grep -E "sq1024" | sed 's/^/  /'
