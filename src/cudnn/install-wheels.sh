#!/bin/sh
# Installs the NVIDIA libraries NvidiaLibrariesTest needs, from NVIDIA's Python wheels, into a git-ignored
# folder (default: .whl in the repository root): the CUDA 13 runtime, NVRTC (with its builtins), cuDNN 9 and
# cuBLAS, unpacked as .whl/nvidia/cu13/lib and .whl/nvidia/cudnn/lib. No GPU or driver is needed. pip only
# downloads (no Python package is installed); the wheels are deleted once their libraries are unpacked.
# Idempotent: a stamp file lists what was installed, and a second run with the same list does nothing.
#
# usage: src/cudnn/install-wheels.sh [DIR]      (.ci/run calls it; about 1.2 GB downloaded, 1.7 GB unpacked)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=${1:-$root/.whl}
# Majors pinned to the JavaCPP preset's (CUDA 13, cuDNN 9); the newest of each the index has.
pkgs="nvidia-cuda-runtime==13.* nvidia-cuda-nvrtc==13.* nvidia-cublas==13.* nvidia-cudnn-cu13==9.*"
stamp=$dir/installed.txt
if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "$pkgs" ]; then
    echo "[install-wheels] $dir already holds: $(tail -n +2 "$stamp" | tr '\n' ' ')"
    exit 0
fi
if command -v pip3 >/dev/null 2>&1; then pip=pip3; elif command -v pip >/dev/null 2>&1; then pip=pip; else pip="python3 -m pip"; fi
rm -rf "$dir"
mkdir -p "$dir/download"
start=$(date +%s)
# shellcheck disable=SC2086 # $pkgs and $pip are word lists
$pip download --no-deps --retries 2 --only-binary=:all: -d "$dir/download" $pkgs
# Only the shared libraries the preset's JNI libraries load (cuBLAS's wheel also holds nvblas, NVRTC's the .alt builds).
python3 - "$dir" <<'PY'
import pathlib, re, sys, zipfile
dest = pathlib.Path(sys.argv[1])
want = re.compile(r"nvidia/(cu13/lib/(libcudart\.so\.13|libnvrtc\.so\.13|libnvrtc-builtins\.so\.13\.\d+|libcublas\.so\.13|libcublasLt\.so\.13)"
                  r"|cudnn/lib/libcudnn[\w]*\.so\.9)$")
n = 0
for whl in sorted((dest / "download").glob("*.whl")):
    with zipfile.ZipFile(whl) as z:
        for name in z.namelist():
            if want.match(name):
                z.extract(name, dest)
                n += 1
if n == 0:
    sys.exit("[install-wheels] no library found in the downloaded wheels")
print(f"[install-wheels] {n} libraries unpacked under {dest}/nvidia")
PY
{ echo "$pkgs"; ls "$dir/download"; } >"$stamp.tmp"
rm -rf "$dir/download"
mv "$stamp.tmp" "$stamp"
echo "[install-wheels] $(tail -n +2 "$stamp" | tr '\n' ' ')in $(($(date +%s) - start)) s: $(du -sh "$dir" | cut -f1)"
