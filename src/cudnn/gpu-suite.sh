#!/bin/sh
# The cuDNN backend's GPU suite, for a GPU machine that has no JDK, no Maven and no network.
#
#   src/cudnn/gpu-suite.sh pack [DIR]   on the development machine (JDK 17, Maven, the local repository):
#                                       builds the module, then writes DIR (default: .gpu-suite in the
#                                       repository root, git-ignored): gpu-suite.tar.xz (a jlink Java runtime
#                                       and every jar the tests need, about 40 MiB) and this script.
#   sh DIR/gpu-suite.sh run [DIR]       on the GPU machine (x86-64 Linux, NVIDIA driver): finds cuDNN 9, cuBLAS,
#                                       NVRTC and the CUDA 13 runtime (system or NVIDIA's Python wheels), puts
#                                       their folders on LD_LIBRARY_PATH and runs, in order:
#                                         GpuSuite: CudnnKernelsTest, CudnnDeviceTest, CudnnConformanceTest,
#                                           CudnnTrainingTest (accumulation equivalence), the bf16 conformance
#                                           and training suites, CudnnPlannerTest,
#                                           plus the device-free tests as a control;
#                                         CudnnThroughputBench: LeNet-5 and resnet-small at several batch
#                                           sizes, cuDNN against oneDNN on the same machine's CPU.
#                                       Logs and the results table go to $OUT (if set) or DIR/results.
#                                       Extra arguments: test classes to run instead of the default list;
#                                       GPU_SUITE_BENCH=0 skips the benchmark.
# See src/cudnn/README.md.
set -eu

mode=${1:-}
here=$(cd "$(dirname "$0")" && pwd)

pack() {
    root=$(cd "$here/../.." && pwd)
    dir=${1:-$root/.gpu-suite}
    case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
    cd "$root"
    if [ "${GPU_SUITE_SKIP_BUILD:-}" != 1 ]; then # 1: pack what target/ and the local repository hold now
        echo "[gpu-suite] building src/cudnn and its dependencies"
        mvn -B -o -q -pl src/cudnn -am install -DskipTests
        mvn -B -o -q -pl src/cudnn test-compile
    fi
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/lib"
    # Test scope = everything: core, reference, testkit, oneDNN (the CPU baseline), JUnit, the CUDA preset, natives.
    mvn -B -o -q -pl src/cudnn dependency:copy-dependencies -DincludeScope=test -DoutputDirectory="$stage/lib"
    cp src/cudnn/target/batchwise-cudnn-*.jar "$stage/lib/"
    (cd src/cudnn/target/test-classes && jar cf "$stage/lib/batchwise-cudnn-tests.jar" .)
    # The CUDA preset's natives jar holds JNI libraries for every CUDA library (NPP, cuFFT, ...): keep the four used.
    for j in "$stage"/lib/cuda-*-linux-x86_64.jar; do
        tmp=$(mktemp -d)
        (cd "$tmp" && unzip -q "$j" 'META-INF/*' 'org/bytedeco/cuda/linux-x86_64/libjnicudart.so' \
            'org/bytedeco/cuda/linux-x86_64/libjnicudnn.so' 'org/bytedeco/cuda/linux-x86_64/libjnicublas.so' \
            'org/bytedeco/cuda/linux-x86_64/libjninvrtc.so' && rm -f "$j" && jar cf "$j" .)
        rm -rf "$tmp"
    done
    # A Java runtime of the modules the jars use (jdeps) plus what JavaCPP and the budget code reach reflectively;
    # uncompressed, so that xz below compresses it (about 42 MiB -> 12 MiB).
    jars=$(ls "$stage"/lib/*.jar | tr '\n' ':')
    modules=$(jdeps --ignore-missing-deps --multi-release 17 --print-module-deps --class-path "$jars" "$stage"/lib/*.jar 2>/dev/null | tail -n 1)
    jlink --add-modules "$modules,jdk.unsupported,jdk.management,java.management,java.logging" --strip-debug \
        --no-header-files --no-man-pages --compress=0 --output "$stage/jre"
    if command -v strip >/dev/null 2>&1; then
        strip --strip-unneeded "$stage/jre/lib/server/libjvm.so"
    fi
    # The packed runtime must run the device-free tests (exit 2 = they passed, and there is no GPU here).
    rc=0
    "$stage/jre/bin/java" -cp "$stage/lib/*" io.batchwise.cudnn.GpuSuite CudnnPlannerLogicTest SimulatedTrainingTest SimulatedBf16ConformanceTest \
        >"$stage/check.log" 2>&1 || rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 2 ]; then
        cat "$stage/check.log" >&2
        echo "[gpu-suite] the packed runtime failed the device-free tests (exit $rc)" >&2
        exit 1
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    echo "[gpu-suite] compressing (a minute or two)"
    tar -C "$stage" -cJf "$dir/gpu-suite.tar.xz" jre lib
    cp "$here/gpu-suite.sh" "$dir/"
    if git rev-parse --git-dir >/dev/null 2>&1 && [ "${dir#"$root"/}" != "$dir" ]; then
        rel=${dir#"$root"/}
        ex=$(git rev-parse --git-path info/exclude)
        grep -qx "/$rel/" "$ex" 2>/dev/null || echo "/$rel/" >>"$ex"
    fi
    size=$(du -sm "$dir" | cut -f1)
    echo "[gpu-suite] packed $dir: ${size} MiB (runtime $(du -sm "$stage/jre" | cut -f1) MiB and jars"\
        "$(du -sm "$stage/lib" | cut -f1) MiB before xz)"
    if [ "$size" -ge 60 ]; then
        echo "[gpu-suite] $dir is too large to travel with the repository in one device call (64 MiB in all)" >&2
        exit 1
    fi
}

# The folder that holds the first file called $1 under the usual install places (never a toolkit's stubs or
# compat folders), or nothing. The driver's libcuda.so.1 is left to the loader when ldconfig knows it.
libdir() {
    places="/usr/local/nvidia /usr/local/cuda /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /opt /usr/local/lib /usr/lib /root /home"
    if [ "$1" = libcuda.so.1 ]; then
        if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
            return
        fi
        places="/usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib"
    fi
    for base in $places; do
        [ -d "$base" ] || continue
        f=$(find "$base" -name "$1" \( -type f -o -type l \) 2>/dev/null | grep -v -e /stubs/ -e /compat/ | head -n 1)
        if [ -n "$f" ]; then
            dirname "$f"
            return
        fi
    done
}

run() {
    dir=${1:-}
    [ $# -gt 0 ] && shift
    if [ -z "$dir" ]; then
        dir=$here
        [ -f "$dir/gpu-suite.tar.xz" ] || dir=$(cd "$here/../.." 2>/dev/null && pwd)/.gpu-suite
    fi
    archive=$dir/gpu-suite.tar.xz
    [ -f "$archive" ] || { echo "[gpu-suite] no $archive: run 'gpu-suite.sh pack' on the development machine first" >&2; exit 1; }
    # Unpacked once per archive, outside the copied tree.
    home=${TMPDIR:-/tmp}/batchwise-gpu-suite
    stamp=$(cksum <"$archive")
    if [ "$(cat "$home/.stamp" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$home"
        mkdir -p "$home"
        tar -C "$home" -xJf "$archive" 2>/dev/null \
            || python3 -c "import tarfile, sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$archive" "$home"
        echo "$stamp" >"$home/.stamp"
    fi
    out=${OUT:-$dir/results}
    mkdir -p "$out"
    path=""
    for lib in libcuda.so.1 libcudart.so.13 libcudnn.so.9 libcublas.so.13 libcublasLt.so.13 libnvrtc.so.13; do
        d=$(libdir "$lib")
        if [ -z "$d" ]; then
            [ "$lib" = libcuda.so.1 ] || echo "[gpu-suite] $lib not found (the backend will say what is missing)"
            continue
        fi
        case ":$path:" in *":$d:"*) ;; *) path=${path:+$path:}$d ;; esac
    done
    export LD_LIBRARY_PATH="$path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
    echo "[gpu-suite] LD_LIBRARY_PATH=$LD_LIBRARY_PATH OMP_NUM_THREADS=$OMP_NUM_THREADS"
    (nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv 2>&1 || true) | tee "$out/gpu.txt"
    java=$home/jre/bin/java
    status=0
    "$java" -Dbatchwise.cuda.cache="$home/kernel-cache" -cp "$home/lib/*" io.batchwise.cudnn.GpuSuite "$@" \
        >"$out/suite.log" 2>&1 || status=$?
    tail -n 40 "$out/suite.log"
    if [ "${GPU_SUITE_BENCH:-1}" = 1 ]; then
        "$java" -Dbatchwise.cuda.cache="$home/kernel-cache" -cp "$home/lib/*" io.batchwise.cudnn.CudnnThroughputBench \
            "$out/throughput.md" >"$out/bench.log" 2>&1 || status=$((status == 0 ? 3 : status))
        tail -n 30 "$out/bench.log"
    fi
    echo "[gpu-suite] exit $status (0 passed, 1 test failures, 2 backend unavailable, 3 benchmark failed); logs in $out"
    exit $status
}

case $mode in
    pack) shift; pack "$@" ;;
    run)
        shift
        d=""
        if [ $# -gt 0 ] && [ -d "$1" ]; then
            d=$1
            shift
        fi
        run "$d" "$@"
        ;;
    *) echo "usage: $0 pack [DIR] | run [DIR] [test class ...]" >&2; exit 2 ;;
esac
