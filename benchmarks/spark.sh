#!/usr/bin/env bash
# The cost of going through Spark on this machine (issue 19): ./batchwise train --spark 'local[2]' (two workers, one
# oneDNN thread per task) against the single-process trainer with two oneDNN threads, same flags, same effective batch.
# Per model and effective batch B it prints
#   steps/s of each (from the median full-batch step of metrics.csv, the first two steps left out) and their ratio
#   the Spark step's parts (medians over the same steps, from spark.csv): broadcast, job, the job's overhead outside
#   the workers' load and compute (scheduling, task launch, broadcast fetch, results moving to the driver), the slowest
#   worker's load and compute, the driver's combine and update (the step's time less the others: norm, optimizer)
#
#   benchmarks/spark.sh [--models mlp,lenet] [--batches 512,4096,32768] [--micro-batch 512] [--wait]
#
# Like run.sh, a run during which other processes took more than 0.10 of a core is marked DISTURBED; --wait waits for
# an idle machine before each run (benchmarks/load.sh, at most 30 min).
set -euo pipefail
cd "$(dirname "$0")/.."

MODELS=mlp BATCHES=512,4096,32768 MICRO=512 WAIT=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --models) MODELS=$2; shift ;;
    --batches) BATCHES=$2; shift ;;
    --micro-batch) MICRO=$2; shift ;;
    --wait) WAIT=1 ;;
    *) sed -n '2,14p' "$0" >&2; exit 64 ;;
  esac
  shift
done
source benchmarks/load.sh

OUT=benchmarks/target/spark
mkdir -p "$OUT"
echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "== tree: $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
./batchwise --version >/dev/null               # builds both launchers' class paths first, outside any timing
./batchwise train --spark 'local[1]' --help >/dev/null

steps_for() { # B: steps to run (a few full steps after warm-up; about the same time per run)
  if (($1 <= 512)); then echo 40; elif (($1 <= 4096)); then echo 30; else echo 8; fi
}

run() { # DIR OMP ARGS...: one run, its others-CPU status into DIR.status
  local dir=$1 omp=$2; shift 2
  rm -rf "$dir"; mkdir -p "$dir"
  wait_idle
  local b0 m0 t0 b1 m1 t1 o status
  b0=$(busy); m0=$(mine); t0=$(now)
  OMP_NUM_THREADS=$omp ./batchwise train "$@" --out "$dir" >"$dir.log" 2>&1 || { echo "failed: see $dir.log"; tail -5 "$dir.log"; exit 1; }
  b1=$(busy); m1=$(mine); t1=$(now)
  o=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
  status="idle (others $o cores)"
  over "$o" && status="DISTURBED (others $o cores)"
  echo "$status" >"$dir.status"
}

IFS=, read -ra MODEL_LIST <<<"$MODELS"
IFS=, read -ra BATCH_LIST <<<"$BATCHES"
for model in "${MODEL_LIST[@]}"; do
  for b in "${BATCH_LIST[@]}"; do
    s=$(steps_for "$b")
    flags=(--model "$model" --batch "$b" --micro-batch "$MICRO" --steps "$s" --epochs 1000 --optimizer adam
           --schedule constant --backend onednn --checkpoint-minutes 0 --seed 1)
    run "$OUT/$model-$b-one" 2 "${flags[@]}"
    run "$OUT/$model-$b-spark" 1 "${flags[@]}" --spark 'local[2]'
    python3 - "$OUT/$model-$b" "$model" "$b" <<'EOF'
import csv, statistics as st, sys
base, model, b = sys.argv[1], sys.argv[2], int(sys.argv[3])
def steps(d):
    rows = [r for r in csv.DictReader(open(d + "/metrics.csv")) if int(r["step"]) > 2 and int(r["batch"]) == b]
    return rows, st.median(b / float(r["samples_per_sec"]) * 1000 for r in rows)
one_rows, one = steps(base + "-one")
sp_rows, sp = steps(base + "-spark")
keep = {r["step"] for r in sp_rows}
t = [r for r in csv.DictReader(open(base + "-spark/spark.csv")) if r["step"] in keep]
med = {k: st.median(float(r[k]) for r in t) for k in t[0] if k not in ("step", "workers")}
status = open(base + "-one.status").read().strip() + " / " + open(base + "-spark.status").read().strip()
print(f"{model:5s} B {b:6d}: one process (2 threads) {one:9.1f} ms = {1000/one:6.2f} steps/s; local[2] {sp:9.1f} ms = "
      f"{1000/sp:6.2f} steps/s; ratio {one/sp:.2f}  [{len(sp_rows)} steps; {status}]")
print(f"{'':14s}Spark step (medians, ms): broadcast {med['broadcast_ms']:.1f}, job {med['job_ms']:.1f} (overhead "
      f"{med['overhead_ms']:.1f}, worker load {med['worker_load_ms']:.1f}, compute {med['worker_compute_ms']:.1f}), combine "
      f"{med['combine_ms']:.1f}, update {med['update_ms']:.1f}; outside compute {sp - med['worker_compute_ms']:.1f} ms, "
      f"one-process step less Spark's compute {one - med['worker_compute_ms']:.1f} ms")
EOF
  done
done
