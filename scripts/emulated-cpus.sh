#!/usr/bin/env bash
# Runs the library's unit tests on CPUs this machine is not, under the Bochs emulator: a generic
# x86-64 with SSE4.2 but no AVX (the Celeron and Pentium class: every kernel takes its portable
# path), and one with AVX and FMA but not AVX2 (AMD Piledriver's set: the `gemm` crate cannot run
# there, so the products take the portable path while nothing else does). Each test's result comes
# from the emulated CPU; its speed means nothing (Bochs runs a few tens of millions of instructions
# a second: a minute or more per test, so pick tests with FILTERS).
#
#   scripts/emulated-cpus.sh [no-avx|fma-no-avx2|both] [FILTER,FILTER,...]
#
# Defaults: both, and the tests of the kernels (sparse, sampling, linalg, the CD step, the math
# pool, thread-count reproducibility). Needs Debian 12 and root (apt-get installs bochs, isolinux,
# genisoimage, busybox-static and cpio, and downloads, without installing, Debian's kernel image).
# Exit status: 0 when every run's tests passed.
set -euo pipefail

cpus=${1:-both}
filters=${2:-sparse,sampling,linalg,cd::tests,pool,one_and_two_threads,subnormal}
case "$cpus" in
  both) cpus="no-avx fma-no-avx2" ;;
  no-avx|fma-no-avx2) ;;
  *) echo "usage: $0 [no-avx|fma-no-avx2|both] [FILTER,...]" >&2; exit 2 ;;
esac
case "$filters" in
  *[!A-Za-z0-9_:,]*) echo "filters are test-name parts separated by commas" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
work=$target/emulated-cpus
mkdir -p "$work"
work=$(cd "$work" && pwd)

packages="bochs bochs-term bochsbios vgabios isolinux syslinux-common genisoimage busybox-static cpio"
missing=$(for p in $packages; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y $missing >"$work/apt.log" 2>&1 \
    || { echo "apt-get install failed; see $work/apt.log" >&2; exit 1; }
fi

# Debian's kernel, unpacked from its package (not installed).
if [ ! -f "$work/vmlinuz" ]; then
  image=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  (cd "$work" && rm -rf kernel && apt-get download "$image" >/dev/null && dpkg-deb -x "$image"_*.deb kernel)
  cp "$work"/kernel/boot/vmlinuz-* "$work/vmlinuz"
fi

echo "building the unit tests…"
tests=$(cargo test --release --lib --no-run 2>&1 | sed -n 's/.*Executable unittests src\/lib.rs (\(.*\))/\1/p')
[ -x "$tests" ] || { echo "cannot find the unit-test binary" >&2; exit 1; }

# The initial RAM disk: busybox, the stripped test binary and the libraries it loads; /init runs
# the tests named on the kernel's command line and powers off.
root=$work/root
rm -rf "$root" && mkdir -p "$root"/{bin,proc,sys,dev,tmp,t}
cp /bin/busybox "$root/bin/busybox"
strip -o "$root/t/tests" "$tests"
for lib in $(ldd "$tests" | grep -o '/[^ ]*'); do
  mkdir -p "$root$(dirname "$lib")" && cp -L "$lib" "$root$lib"
done
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp
echo "=== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
echo "=== flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx|avx2|fma|avx512[a-z]*)$' | tr '\n' ' ')"
cd /tmp
/t/tests --test-threads 1 $(sed -n 's/.*filter=\([^ ]*\).*/\1/p' /proc/cmdline | tr ',' ' ')
echo "=== DONE rc=$?"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 >"$work/initrd.gz")

status=0
for cpu in $cpus; do
  # Bochs's generic CPU (no `model=`) reports no CPUID leaf 7, so whatever `simd` says it shows
  # no AVX2, BMI or AVX-512: up to AVX, and FMA when `avx_fma` is on (which it honours only with
  # `simd` above AVX). Each run prints the flags the guest sees.
  case "$cpu" in
    no-avx) features="simd=sse4_2" ;;
    fma-no-avx2) features="simd=avx512, avx_f16c=1, avx_fma=1, bmi=bmi2" ;;
  esac
  cpu_lines="cpu: count=1, ips=100000000, reset_on_triple_fault=0
cpuid: x86_64=1, level=6, mmx=1, sep=1, apic=x2apic, aes=1, movbe=1, xsave=1, xsaveopt=1, 1g_pages=1, pcid=1, fsgsbase=1, smep=1, $features"
  iso=$work/iso-$cpu
  rm -rf "$iso" && mkdir -p "$iso/isolinux"
  cp "$work/vmlinuz" "$work/initrd.gz" "$iso/"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
  cat >"$iso/isolinux/isolinux.cfg" <<EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0,115200 loglevel=3 nosmp mitigations=off filter=$filters
EOF
  genisoimage -quiet -o "$work/$cpu.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot \
    -boot-load-size 4 -boot-info-table -J -R "$iso"
  serial=$work/$cpu.serial.txt
  rm -f "$serial"
  cat >"$work/$cpu.bochsrc" <<EOF
megs: 1536
$cpu_lines
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/$cpu.iso, status=inserted
boot: cdrom
com1: enabled=1, mode=file, dev=$serial
display_library: rfb, options="timeout=0"
log: $work/$cpu.bochs.log
panic: action=report
error: action=report
clock: sync=none, time0=local
EOF
  echo "booting the emulated $cpu (a few minutes before the tests start)…"
  # Debian's Bochs has its debugger built in: "c" continues.
  printf 'c\n' | timeout 7200 bochs -q -f "$work/$cpu.bochsrc" >"$work/$cpu.stdout.txt" 2>&1 || true
  sed -n '/^=== CPU/,/^=== DONE/p' "$serial"
  grep -q '^=== DONE rc=0' "$serial" || { echo "$cpu: the tests did not all pass (see $serial)"; status=1; }
done
exit $status
