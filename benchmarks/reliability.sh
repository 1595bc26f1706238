#!/usr/bin/env bash
# The reliability suite, long version (issue 17). Short versions of each part run in `mvn -B verify`.
#
#   benchmarks/reliability.sh [kills [N]] [corrupt [N]] [oom [N]] [memory [STEPS]]   (default: all four, default sizes)
#
#   kills N      kill -9 at N seeded random moments of a real `batchwise train` run, resuming each time with the same
#                command line and --resume, then once to the end: the final checkpoint must be byte-identical to an
#                uninterrupted run's; plus a SIGTERM stop and resume (CrashResumeTest; default N = 50, seed 1)
#   corrupt N    IDX files and checkpoints mutated at random, each through the command line (exit 1, one line naming
#                the file and offset, no stack trace, no JVM crash; default N = 300): reliability/corrupt.sh
#   oom N        out-of-memory injected at random allocations of training runs (the trainer halves the micro-batch and
#                redoes the step; final weights as without the fault; default N = 1,000): reliability/oom.sh
#   memory STEPS resident memory of a stochastic (batch 1) run, heap pre-touched: growth below 1% (default 1,000,000
#                steps): reliability/memory.sh
# Each part prints its own result line; the exit status is non-zero when any part failed.
set -uo pipefail
cd "$(dirname "$0")/.."

parts=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    kills|corrupt|oom|memory)
      if [[ "${2:-}" =~ ^[0-9]+$ ]]; then parts+=("$1:$2"); shift; else parts+=("$1:"); fi ;;
    *) sed -n '2,17p' "$0" >&2; exit 64 ;;
  esac
  shift
done
[[ ${#parts[@]} -gt 0 ]] || parts=(kills: corrupt: oom: memory:)

echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "== tree: $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
failed=0
for p in "${parts[@]}"; do
  name=${p%%:*} n=${p#*:}
  start=$(date +%s)
  case "$name" in
    kills)
      n=${n:-50}
      log=benchmarks/target/reliability-kills.log
      mkdir -p benchmarks/target
      mvn -B -o -q test -pl src/cli -am -Dtest=CrashResumeTest -Dsurefire.failIfNoSpecifiedTests=false \
          -Dbatchwise.kills="$n" -Dbatchwise.killSeed=1 >"$log" 2>&1
      rc=$?
      summary=$(grep -h "Tests run" src/cli/target/surefire-reports/io.batchwise.cli.CrashResumeTest.txt 2>/dev/null)
      echo "kills: $n kill -9 moments + 1 SIGTERM, resumed to the end: ${summary:-no report} (log $log)"
      grep -h "^kill -9:" "$log" | cut -c1-160 ;;
    corrupt) bash benchmarks/reliability/corrupt.sh ${n:+"$n"}; rc=$? ;;
    oom) bash benchmarks/reliability/oom.sh ${n:+"$n"}; rc=$? ;;
    memory) bash benchmarks/reliability/memory.sh ${n:+"$n"}; rc=$? ;;
  esac
  echo "   ($name: exit $rc, $(( $(date +%s) - start )) s)"
  [[ $rc == 0 ]] || failed=1
done
exit $failed
