#!/usr/bin/env bash
# Resident memory of a long stochastic run: trains the MLP with batch 1 on the oneDNN backend for STEPS steps in a JVM
# whose heap is fixed and pre-touched (so the heap does not count), reads VmRSS after a warm-up (5% of the steps, at
# least 20,000) and at four points after it, and prints a line per reading and one result line:
#
#   resident memory: steps 1,000,000 (mlp, batch 1, onednn, OMP_NUM_THREADS=1), VmRSS warm-up (50,000 steps) A KiB,
#   end B KiB, growth G% (D KiB, bytes/step), JavaCPP objects X -> Y, heap 64 MiB pre-touched, S s
#
#   benchmarks/reliability/memory.sh [STEPS]      STEPS: default 1000000
#
# Exit status 1 when the growth is not below 1%. Builds benchmarks/target/benchmarks.jar when it is missing or older
# than the sources (offline first, then with the network for missing dependencies). Environment: HEAP (default 64m),
# OMP_NUM_THREADS (default 1: at batch 1 a second thread only spin-waits), JAVA_HOME.
set -euo pipefail
cd "$(dirname "$0")/../.."

steps=${1:-1000000}
[[ $steps =~ ^[0-9]+$ ]] || { echo "usage: $0 [STEPS]" >&2; exit 64; }

jar=benchmarks/target/benchmarks.jar
if [[ ! -f $jar ]] || [[ -n $(find pom.xml benchmarks/pom.xml benchmarks/src src/core/src/main src/onednn/src/main -newer "$jar" -type f | head -1) ]]; then
  echo "building $jar" >&2
  build=(mvn -B -q -Dstyle.color=never -DskipTests package -pl benchmarks -am) # the library from this tree, not ~/.m2
  "${build[@]}" -o >&2 || "${build[@]}" >&2
fi

java=java
[[ -n ${JAVA_HOME:-} && -x $JAVA_HOME/bin/java ]] && java=$JAVA_HOME/bin/java
heap=${HEAP:-64m}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# JavaCPP's accounting off, as ./batchwise runs: native memory is then freed only by the library's own close() calls.
exec "$java" -Xms"$heap" -Xmx"$heap" -XX:+AlwaysPreTouch -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 \
  -cp "$jar" io.batchwise.benchmarks.ResidentMemory "$steps"
