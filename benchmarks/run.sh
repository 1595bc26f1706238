#!/usr/bin/env bash
# Runs the benchmark suites and prints their medians, refusing figures taken on a busy machine.
#
#   benchmarks/run.sh [--force] [--quick] [--wait] [planner|trial-search|step|accumulation|paired|precision ...]
#
#   --force  measure and report even when other processes use the CPU (figures marked DISTURBED)
#   --quick  1 fork, 1 warm-up and 2 measured iterations (a smoke run, not for RESULTS.md)
#   --wait   on a shared machine: before each suite wait (up to 30 min) until others are idle, and
#            rerun a disturbed suite (3 attempts in all)
#   suites   the ones to run (default: all, in this order); step and accumulation also run the hand-written
#            direct oneDNN loop (DirectStepBenchmark, DirectAccumulationBenchmark) in the same JMH run and print
#            Batchwise next to it (twice the configurations of Batchwise alone); paired runs Batchwise and the direct
#            loop alternated in one JVM (Paired: step and accumulation, OMP_NUM_THREADS 1 and 2), the ratios taken per
#            round from blocks seconds apart, which this VM's drift between JMH forks does not reach (not in the default
#            set; --quick makes it 5 rounds); precision runs Paired precision (issue 20: the whole step in fp32 and in
#            bf16 mixed precision alternated in one JVM, mlp/lenet/resnet-small at b = 32, 128, 512, OMP_NUM_THREADS 2, and
#            the planned micro-batch at 64 MiB in both; not in the default set)
#
# oneDNN's OpenMP threads spin-wait: any other busy process on a small machine slows a run by up to
# 10-50x. So this script measures what other processes took (all CPU time in /proc/stat minus this
# script's own, children included) over each suite and, when that exceeds 0.10 of a core, does not
# print the suite's figures (with --force it prints them marked DISTURBED). Exit status: 0 clean,
# 2 busy before starting, 3 some suite disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."

FORCE=0
WAIT=0
JMH=(forks=2 warmups=3 iterations=5 seconds=1)
PAIRED=(rounds=15)
SUITES=()
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --quick) JMH=(forks=1 warmups=1 iterations=2 seconds=1); PAIRED=(rounds=5 warmupS=2) ;;
    --wait) WAIT=1 ;;
    planner|trial-search|step|accumulation|paired|precision) SUITES+=("$a") ;;
    *) echo "usage: $0 [--force] [--quick] [--wait] [planner|trial-search|step|accumulation|paired|precision ...]" >&2; exit 64 ;;
  esac
done
[[ ${#SUITES[@]} -gt 0 ]] || SUITES=(planner trial-search step accumulation)

JAR=benchmarks/target/benchmarks.jar
if [[ ! -f $JAR ]] || [[ -n $(find pom.xml benchmarks/pom.xml benchmarks/src src/core/src/main src/onednn/src/main -newer "$JAR" -type f | head -1) ]]; then
  echo "building $JAR"
  mvn -B -o -q package -DskipTests -pl benchmarks -am # the library from this tree, not ~/.m2
fi

OUT=benchmarks/target/results
mkdir -p "$OUT"
source benchmarks/load.sh

echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "tree: $(git describe --always --dirty 2>/dev/null || echo '?')"
git status --short -- src 2>/dev/null | sed 's/^/  uncommitted: /' || true
echo "top processes now:"; ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n 2,6p | sed 's/^/  /'

# Idle check before anything starts: 3 s of other processes' CPU time.
wait_idle
pre=$(idle 3)
for retry in 1 2 3; do # with --wait, a passing blip (an editor saving, a shell) is waited out too
  over "$pre" && [[ $WAIT == 1 ]] || break
  echo "other processes before starting: $pre cores; waiting"
  wait_idle
  pre=$(idle 3)
done
echo "other processes before starting: $pre cores"
if over "$pre" && [[ $FORCE == 0 ]]; then
  echo "machine busy (other processes use $pre cores > $LIMIT): not starting; wait, use --wait, or --force" >&2
  exit 2
fi

STATUS=0
# run NAME OMP COMMAND...: runs one suite under OMP_NUM_THREADS=OMP, reports its figures or refuses.
run() {
  local name=$1 omp=$2; shift 2
  local report="$OUT/$name-omp$omp.txt"
  echo; echo "== $name, OMP_NUM_THREADS=$omp"
  local b0 m0 t0 b1 m1 t1 share attempt
  for attempt in 1 2 3; do
    wait_idle
    b0=$(busy); m0=$(mine); t0=$(now)
    OMP_NUM_THREADS=$omp "$@" > "$report"
    b1=$(busy); m1=$(mine); t1=$(now)
    share=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    over "$share" && [[ $WAIT == 1 && $attempt -lt 3 ]] || break
    echo "(attempt $attempt disturbed: other processes used $share cores; again)"
  done
  if over "$share"; then
    STATUS=3
    if [[ $FORCE == 0 ]]; then
      echo "NOT REPORTING: other processes used $share cores during this suite (limit $LIMIT); see $report"
      return
    fi
    echo "DISTURBED: other processes used $share cores during this suite (limit $LIMIT); figures below are not valid"
  else
    echo "(other processes used $share cores during this suite)"
  fi
  cat "$report"
}

J=(java -cp "$JAR")
for suite in "${SUITES[@]}"; do
  case $suite in
    planner)
      run planner 2 "${J[@]}" io.batchwise.benchmarks.Suites planner "${JMH[@]}" log="$OUT/planner.log"
      # JavaCPP's native-memory accounting (a /proc read per Pointer allocation) off, for comparison:
      run planner-javacpp-accounting-off 2 "${J[@]}" io.batchwise.benchmarks.Suites planner "${JMH[@]}" \
          log="$OUT/planner-off.log" jvm="-Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Dorg.bytedeco.javacpp.maxBytes=0" ;;
    trial-search)
      run trial-search 2 "${J[@]}" io.batchwise.benchmarks.PlannerVsTrialSearch deep50 lenet ;;
    step|accumulation)
      # JIT thresholds x 0.05 in the forks: with the defaults a per-step method reaches C2 only after ~10,000 calls
      # (Trainer.attempt at 7 s for the MLP at b = 128, later for slower steps), past the 3 s warm-up, and on two cores
      # the compiler thread then competes with oneDNN's second OpenMP thread during measured iterations (Batchwise's
      # per-step Java is compiled, the direct loop's is a few lines). Steady state is what a training run sees.
      for omp in 1 2; do
        run "$suite" "$omp" "${J[@]}" io.batchwise.benchmarks.Suites "$suite" "${JMH[@]}" log="$OUT/$suite-omp$omp.log" \
            jvm="-XX:CompileThresholdScaling=0.05"
      done ;;
    paired)
      # One JVM per suite and thread count, JIT thresholds as in the JMH forks above (so warm-up reaches C2).
      for omp in 1 2; do
        for what in step accumulation; do
          run "paired-$what" "$omp" "${J[@]}" -XX:CompileThresholdScaling=0.05 io.batchwise.benchmarks.Paired "$what" "${PAIRED[@]}"
        done
      done ;;
    precision)
      run precision 2 "${J[@]}" -XX:CompileThresholdScaling=0.05 io.batchwise.benchmarks.Paired precision "${PAIRED[@]}" ;;
  esac
done

echo
if [[ $STATUS == 0 ]]; then echo "all suites ran on an otherwise idle machine"; else echo "some suites were disturbed by other processes (exit 3)"; fi
exit $STATUS
