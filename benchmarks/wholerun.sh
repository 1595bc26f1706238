#!/usr/bin/env bash
# The whole training run a user starts, against its own steps (issue 16): runs ./batchwise train and reads what it
# wrote (metrics.csv: each step's batch over its own wall-clock time; summary.json: train_seconds), then prints per run
#   median step, p99 and p99 / median               (stalls)
#   mean of the first 1,000 steps / steady step       (warm-up; steady = median of the run's second half)
#   whole-run throughput / steady-step throughput     (samples_this_run / train_seconds over batch / steady step)
# and the paired step benchmark's figure for the same step in the same thread setting (io.batchwise.benchmarks.Paired:
# Batchwise's trainBatch in a loop, JIT thresholds x 0.05), with the run's steady step over it.
#
#   benchmarks/wholerun.sh [--threads default,1,2] [--jobs lenet,mlp] [--repeat R] [--variants 'FLAGS;FLAGS'] [--no-paired]
#                          [--force] [--wait]
#
#   jobs     lenet: the README's main job, ./batchwise train --model lenet --epochs 5 (AdamW, batch 32);
#            mlp:   --model mlp --optimizer sgd --batch 128 --micro-batch 128 --epochs 15
#   threads  OMP_NUM_THREADS for each run; 'default' leaves it unset, so the launcher's default applies (cores - 1)
#   repeat   runs of each job and thread setting, alternated (default 1)
#   variants extra train flags, ';'-separated, each run in turn after the others (e.g. ';--prefetch': without, with)
# Like run.sh, a run during which other processes took more than 0.10 of a core is marked DISTURBED.
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS=default JOBS=lenet,mlp REPEAT=1 VARIANTS='' PAIRED=1 FORCE=0 WAIT=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --threads) THREADS=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --variants) VARIANTS=$2; shift ;;
    --no-paired) PAIRED=0 ;;
    --force) FORCE=1 ;;
    --wait) WAIT=1 ;;
    *) sed -n '2,18p' "$0" >&2; exit 64 ;;
  esac
  shift
done
source benchmarks/load.sh

OUT=benchmarks/target/wholerun
mkdir -p "$OUT"
echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "== tree: $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC')"
./batchwise --version >/dev/null # builds the trainer first, outside any timing

job_args() {
  case "$1" in
    lenet) echo "--model lenet --epochs 5" ;;
    mlp) echo "--model mlp --optimizer sgd --batch 128 --micro-batch 128 --epochs 15" ;;
    *) echo "unknown job $1" >&2; exit 64 ;;
  esac
}

analyse() { # DIR LABEL STATUS
  python3 - "$@" <<'EOF'
import csv, json, statistics as st, sys
d, label, status = sys.argv[1:4]
rows = list(csv.DictReader(open(d + "/metrics.csv")))
ms = [int(r["batch"]) / float(r["samples_per_sec"]) * 1000 for r in rows]
n = len(ms); srt = sorted(ms)
med = st.median(ms); p99 = srt[min(n - 1, int(0.99 * n))]
steady = st.median(ms[n // 2:])
first = st.mean(ms[:1000])
s = json.load(open(d + "/summary.json"))
whole = s["samples_this_run"] / s["train_seconds"]
step_tp = st.mode(int(r["batch"]) for r in rows) / steady * 1000  # the full batch (a short last one is not it)
print(f"{label:40s} steps {n:6d}  median {med:.3f} ms  p99 {p99:.3f} ({p99/med:.2f}x)  first-1000 {first:.3f} "
      f"({first/steady:.2f}x steady {steady:.3f})  whole {whole:,.0f}/s = {whole/step_tp:.2f} of steady  "
      f"train {s['train_seconds']:.2f} s  acc {s['test_accuracy']:.4f}  {status}")
open(d + "/steady_ms", "w").write(f"{steady}\n")
EOF
}

IFS=, read -ra JOB_LIST <<<"$JOBS"
IFS=, read -ra THREAD_LIST <<<"$THREADS"
IFS=';' read -ra VARIANT_LIST <<<"$VARIANTS"
[[ ${#VARIANT_LIST[@]} -gt 0 ]] || VARIANT_LIST=('')
[[ $VARIANTS == *';' ]] && VARIANT_LIST+=('') # read drops a trailing empty field
echo "== whole runs (ms per step from metrics.csv)"
for ((rep = 1; rep <= REPEAT; rep++)); do
  for job in "${JOB_LIST[@]}"; do
    for t in "${THREAD_LIST[@]}"; do
     for ((v = 0; v < ${#VARIANT_LIST[@]}; v++)); do
      extra=${VARIANT_LIST[$v]}
      dir="$OUT/$job-omp$t-$rep"
      [[ ${#VARIANT_LIST[@]} -gt 1 ]] && dir="$OUT/$job-omp$t-v$v-$rep"
      rm -rf "$dir"
      wait_idle
      env_args=()
      [[ $t == default ]] || env_args=(OMP_NUM_THREADS="$t")
      b0=$(busy); m0=$(mine); t0=$(now)
      # shellcheck disable=SC2046 # job_args is a list of flags
      env "${env_args[@]}" ./batchwise train $(job_args "$job") $extra --out "$dir" >"$dir.log" 2>&1
      b1=$(busy); m1=$(mine); t1=$(now)
      o=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
      status="idle (others $o cores)"
      over "$o" && status="DISTURBED (others $o cores)"
      threads=$(sed -n 's/.*OMP_NUM_THREADS=\([0-9a-z]*\).*/\1/p' "$dir/plan.txt" | head -1)
      analyse "$dir" "$job OMP=$threads${extra:+ $extra} (#$rep)" "$status"
     done
    done
  done
done

[[ $PAIRED == 1 ]] || exit 0
JAR=benchmarks/target/benchmarks.jar
if [[ ! -f $JAR ]] || [[ -n $(find pom.xml benchmarks/pom.xml benchmarks/src src/core/src/main src/onednn/src/main -newer "$JAR" -type f | head -1) ]]; then
  mvn -B -o -q package -DskipTests -pl benchmarks -am
fi
echo "== paired step benchmark (Batchwise's trainBatch in one JVM; 5 rounds), and the whole run's steady step over it"
for t in "${THREAD_LIST[@]}"; do
  omp=$t
  [[ $t == default ]] && omp=$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))
  for job in "${JOB_LIST[@]}"; do
    case "$job" in
      lenet) args=(optimizers models=lenet batches=32) ;;
      mlp) args=(step models=mlp batches=128) ;;
    esac
    wait_idle
    OMP_NUM_THREADS=$omp java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -XX:CompileThresholdScaling=0.05 -cp "$JAR" \
        io.batchwise.benchmarks.Paired "${args[@]}" rounds=5 >"$OUT/paired-$job-omp$omp.txt" 2>&1
    first="$OUT/$job-omp$t-1"
    [[ ${#VARIANT_LIST[@]} -gt 1 ]] && first="$OUT/$job-omp$t-v0-1"
    python3 - "$job" "$omp" "$OUT/paired-$job-omp$omp.txt" "$first/steady_ms" <<'EOF'
import re, sys
job, omp, txt, steady = sys.argv[1:5]
lines = [l for l in open(txt) if l.startswith(job + " ")]
cells = lines[0].split()
if job == "lenet":   # optimizers suite: "lenet 32 sgd ... adamw ..." cells are "ms (ratio)"
    ms = float(re.findall(r"([0-9.]+) \(", lines[0])[4])                       # adamw, the CLI's default
else:                # step suite: samples/s of Batchwise at batch 128
    ms = 128 / float(cells[2].replace(",", "")) * 1000
s = float(open(steady).read())
print(f"{job} OMP={omp}: paired step {ms:.3f} ms; whole run's steady step {s:.3f} ms = {ms/s:.2f} of the paired step's speed")
EOF
  done
done
