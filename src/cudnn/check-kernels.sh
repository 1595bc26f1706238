#!/bin/sh
# Build-time check of the CUDA kernels: compiles every native/cuda/*.cu to PTX with nvcc, so a kernel
# that would not compile under NVRTC at run time fails the build here. Run by `mvn verify` (phase
# compile, profile check-cuda-kernels in src/cudnn/pom.xml). Without nvcc on the PATH it prints one
# line and succeeds: the development and CI machines may or may not have the CUDA toolkit.
#
# usage: check-kernels.sh <native/cuda directory> <output directory>
set -eu
src=$1
out=$2
if ! command -v nvcc >/dev/null 2>&1; then
    echo "[batchwise-cudnn] nvcc is not on the PATH: skipping the nvcc -ptx check of $src/*.cu"
    exit 0
fi
mkdir -p "$out"
n=0
for f in "$src"/*.cu; do
    name=$(basename "$f" .cu)
    # compute_75: the oldest architecture CUDA 13 supports; -Werror: a warning fails the build too.
    nvcc -ptx -arch=compute_75 --std=c++17 -Werror all-warnings -I "$src" -o "$out/$name.ptx" "$f"
    n=$((n + 1))
done
echo "[batchwise-cudnn] nvcc -ptx: $n kernel files in $src compile ($(nvcc --version | tail -n 1))"
