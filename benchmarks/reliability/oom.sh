#!/usr/bin/env bash
# Out-of-memory trials: OutOfMemorySuite's random trials on the reference and oneDNN backends, TRIALS per backend.
# Each trial fails one allocation point (plan, allocate, bind, forward or backward pass) of a short training run, drawn
# at random, and checks that the trainer halves the micro-batch, redoes the step and ends bit-identical to a fault-free
# run with the same micro-batch schedule and within 1e-5 of one at the original micro-batch. Prints one line per
# backend (trials, failures by kind, worst distance, seconds); exit status 0 when every trial passed.
#
#   benchmarks/reliability/oom.sh [TRIALS]       TRIALS: default 1000 (mvn verify runs 100)
#
# Environment: SEED (default: the suite's fixed seed) draws other points.
set -euo pipefail
cd "$(dirname "$0")/../.."

trials=${1:-1000}
[[ $trials =~ ^[0-9]+$ ]] || { echo "usage: $0 [TRIALS]" >&2; exit 64; }

# Compile the reactor up to the oneDNN backend (offline first, then with the network for missing dependencies).
build=(mvn -B -q -Dstyle.color=never -DskipTests test-compile -pl src/onednn -am)
"${build[@]}" -o >&2 || "${build[@]}" >&2

args=(-Dbatchwise.oomTrials="$trials" -Dorg.slf4j.simpleLogger.log.io.batchwise.train.Trainer=error) # no warning per trial
[[ -n ${SEED:-} ]] && args+=(-Dbatchwise.oomSeed="$SEED")
exec mvn -B -o -q -Dstyle.color=never test -pl src/onednn -am -Dsurefire.failIfNoSpecifiedTests=false \
  -Dtest='ReferenceOutOfMemoryTest#random*,OneDnnOutOfMemoryTest#random*' "${args[@]}"
