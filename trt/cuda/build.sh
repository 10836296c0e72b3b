#!/bin/sh
# Builds libconveyorcuda.a (kernels.cu) for `go build -tags cuda`, for the
# GPU architectures conveyor supports that this nvcc can compile:
#   sm_72 Xavier (CUDA <= 12.x: CUDA 13 dropped it), sm_75 Turing,
#   sm_80 A100, sm_86 Ampere cards, sm_87 Orin, sm_89 Ada and sm_90
#   H100/H200 (CUDA 11.8+), sm_100 B200 and sm_120 Blackwell cards
#   (CUDA 12.8+), sm_110 Thor (CUDA 13+),
# plus PTX of the newest, which the driver compiles for later GPUs.
# The list follows nvcc's version (CUDA 11.4 of JetPack 5.1 stops at
# sm_87) and is checked against `nvcc --list-gpu-arch` where nvcc has it.
#
# Usage: trt/cuda/build.sh [outdir]   (default: <repo>/out/cuda, git-ignored)
#        trt/cuda/build.sh --print    (prints nvcc's version and the -gencode
#                                      flags it would use; compiles nothing)
# Env:   NVCC        the compiler (default: nvcc on PATH, else
#                    /usr/local/cuda/bin/nvcc, where JetPack keeps it)
#        NVCC_CCBIN  the host compiler (default: g++-11 for nvcc 11.x when
#                    g++ is newer than 11: CUDA 11 refuses gcc 12)
#        CUDA_ARCH   only these architectures, e.g. "87" on an Orin or
#                    "72 87" (scripts/jetson-build.sh sets it)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
die() { echo "trt/cuda/build.sh: $*" >&2; exit 1; }

print=0
out=$here/../../out/cuda
case "${1:-}" in
  --print) print=1 ;;
  "") ;;
  -*) die "unknown option $1 (usage: build.sh [outdir] | --print)" ;;
  *) out=$1 ;;
esac

nvcc=${NVCC:-}
if [ -z "$nvcc" ]; then
  if command -v nvcc >/dev/null 2>&1; then nvcc=nvcc
  elif [ -x /usr/local/cuda/bin/nvcc ]; then nvcc=/usr/local/cuda/bin/nvcc
  else die "nvcc not found on PATH or in /usr/local/cuda/bin: install the CUDA toolkit (JetPack: sudo apt install nvidia-cuda-dev; Debian: nvidia-cuda-toolkit from non-free; x86: NVIDIA's CUDA toolkit) or set NVCC=/path/to/nvcc"
  fi
fi
# "Cuda compilation tools, release 12.6, V12.6.77" -> 12.6
ver=$("$nvcc" --version 2>/dev/null | sed -n 's/.*release \([0-9][0-9]*\.[0-9][0-9]*\).*/\1/p' | head -n 1)
[ -n "$ver" ] || die "$nvcc --version does not say its release: is it nvcc?"
major=${ver%%.*}
minor=${ver#*.}
v=$((major * 100 + minor))
[ "$v" -ge 1104 ] || die "CUDA $ver is too old: conveyor needs CUDA 11.4 or newer (JetPack 5.1+)"

# The architectures conveyor builds for, by nvcc version.
archs=""
if [ "$v" -lt 1300 ]; then archs="72"; fi
archs="$archs 75 80 86 87"
if [ "$v" -ge 1108 ]; then archs="$archs 89 90"; fi
if [ "$v" -ge 1208 ]; then archs="$archs 100"; fi
if [ "$v" -ge 1300 ]; then archs="$archs 110"; fi
if [ "$v" -ge 1208 ]; then archs="$archs 120"; fi

# What this nvcc says it compiles (absent in some builds: then trust the table).
known=$("$nvcc" --list-gpu-arch 2>/dev/null | sed -n 's/^compute_\([0-9][0-9]*\)$/\1/p' | tr '\n' ' ' || true)

if [ -n "${CUDA_ARCH:-}" ]; then
  archs=$(echo "$CUDA_ARCH" | tr ',' ' ' | sed 's/sm_//g; s/compute_//g')
  for a in $archs; do
    case " $known " in
      "  ") ;;
      *" $a "*) ;;
      *) die "CUDA_ARCH=$CUDA_ARCH: nvcc $ver cannot compile sm_$a (it knows: $known)" ;;
    esac
  done
elif [ -n "$known" ]; then
  keep=""
  for a in $archs; do
    case " $known " in *" $a "*) keep="$keep $a" ;; esac
  done
  archs=$keep
fi
archs=$(echo $archs)
[ -n "$archs" ] || die "nvcc $ver compiles none of conveyor's GPU architectures"

newest=$(for a in $archs; do echo "$a"; done | sort -n | tail -n 1)
gencode=""
for a in $archs; do
  if [ "$a" = "$newest" ]; then
    gencode="$gencode -gencode arch=compute_$a,code=[sm_$a,compute_$a]"
  else
    gencode="$gencode -gencode arch=compute_$a,code=sm_$a"
  fi
done

ccbin=${NVCC_CCBIN:-}
if [ -z "$ccbin" ] && [ "$major" -lt 12 ] && command -v g++-11 >/dev/null 2>&1; then
  gxx=$(g++ -dumpversion 2>/dev/null | cut -d. -f1 || echo 0)
  if [ "${gxx:-0}" -gt 11 ]; then ccbin=g++-11; fi
fi

if [ "$print" = 1 ]; then
  echo "nvcc $ver"
  echo "archs $archs"
  echo "gencode$gencode"
  exit 0
fi

mkdir -p "$out"
echo "trt/cuda/build.sh: nvcc $ver ($nvcc), sm_$(echo "$archs" | sed 's/ /, sm_/g') + PTX $newest${ccbin:+, host compiler $ccbin}" >&2
# shellcheck disable=SC2086 # gencode is a list of flags
"$nvcc" ${ccbin:+-ccbin "$ccbin"} -O3 -std=c++14 -Xcompiler -fPIC $gencode \
  -c "$here/kernels.cu" -o "$out/kernels.o"
rm -f "$out/libconveyorcuda.a"
ar rcs "$out/libconveyorcuda.a" "$out/kernels.o"
rm -f "$out/kernels.o"
echo "$out/libconveyorcuda.a"
