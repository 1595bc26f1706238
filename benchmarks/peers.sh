#!/usr/bin/env bash
# Batchwise side by side with Deeplearning4j and libtorch: the same training step (MLP 784-256-128-10 and
# LeNet-5, softmax cross-entropy, plain SGD lr 0.01, float32) at the same batch sizes and thread budgets,
# the three alternated configuration by configuration in one run; writes benchmarks/PEERS.md.
#
#   benchmarks/peers.sh [--quick] [--force] [--wait] [--rounds N] [--out FILE]
#                       [--models mlp,lenet] [--batches 1,32,128,512] [--threads 1,2]
#
#   --quick   2 models x b = 1, 128 x 2 threads, 1 round, 1 warm-up + 3 timed windows (about 4 minutes;
#             a smoke run, its table says so)
#   (default) 2 models x b = 1, 32, 128, 512 x 1 and 2 threads, 2 rounds, 3 warm-up + 5 timed windows of 1 s
#             (about 30 minutes on an idle 2-core machine)
#   --rounds N  rounds of the whole alternation (each round runs every tool on every configuration once)
#   --force   write the table even when other processes used the CPU (rows marked DISTURBED)
#   --wait    on a shared machine: before each measurement wait (up to 30 min) until others are idle, and
#             measure a disturbed one again (3 attempts in all)
#   --out F   write the table to F instead of benchmarks/PEERS.md
#   --models, --batches, --threads   comma-separated subsets (or other batch sizes) instead of the mode's
#
# What runs (each a fresh JVM, environment as shown; T is the thread budget):
#   Batchwise  OMP_NUM_THREADS=T java -Djmh.ignoreLock=true -jar benchmarks/target/benchmarks.jar
#              'TrainingStepBenchmark\.step$' -p model=M -p batch=B -f 1 -wi 3 -i 5 -w 1 -r 1 -rf json
#              (the JMH step suite, one configuration; JMH's lock against concurrent runs is ignored because
#              the load check below refuses a run disturbed by another one anyway)
#   DL4J       OMP_NUM_THREADS=T java -jar benchmarks/peers/dl4j/target/peer-dl4j.jar model=M batch=B threads=T
#   libtorch   OMP_NUM_THREADS=t OPENBLAS_NUM_THREADS=b java -jar benchmarks/peers/pytorch/target/peer-pytorch.jar
#              model=M batch=B threads=T torch_threads=t blas_threads=b, for every (t, b) in the budget:
#              T=1: (1, 1); T=2: (2, 1), (1, 2), (2, 2); the table takes the best of them.
# The peers train on consecutive real Fashion-MNIST batches (benchmarks/peers/README.md); Batchwise's JMH
# step reuses one synthetic batch (benchmarks/src/.../TrainingStepBenchmark.java).
#
# oneDNN's and libtorch's OpenMP threads spin-wait, so any other busy process on a small machine slows a run
# by up to 10-50x. Like run.sh, this measures what other processes took (all CPU time in /proc/stat minus
# this script's own, children included) over each measurement; above 0.10 of a core the measurement is
# disturbed, and without --force the table is not written. Exit status: 0 clean, 2 busy before starting,
# 3 some measurement disturbed.
set -euo pipefail
cd "$(dirname "$0")/.."

QUICK=0
FORCE=0
WAIT=0
ROUNDS=
TABLE=benchmarks/PEERS.md
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --force) FORCE=1 ;;
    --wait) WAIT=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --out) TABLE=$2; shift ;;
    --models) O_MODELS=$2; shift ;;
    --batches) O_BATCHES=$2; shift ;;
    --threads) O_THREADS=$2; shift ;;
    *) echo "usage: $0 [--quick] [--force] [--wait] [--rounds N] [--out FILE] [--models mlp,lenet] [--batches 1,32,128,512] [--threads 1,2]" >&2
       exit 64 ;;
  esac
  shift
done
if [[ $QUICK == 1 ]]; then
  MODELS=(mlp lenet); BATCHES=(1 128); BUDGETS=(2); WARMUPS=1; WINDOWS=3; ROUNDS=${ROUNDS:-1}
else
  MODELS=(mlp lenet); BATCHES=(1 32 128 512); BUDGETS=(1 2); WARMUPS=3; WINDOWS=5; ROUNDS=${ROUNDS:-2}
fi
[[ -z ${O_MODELS:-} ]] || IFS=, read -ra MODELS <<< "$O_MODELS"
[[ -z ${O_BATCHES:-} ]] || IFS=, read -ra BATCHES <<< "$O_BATCHES"
[[ -z ${O_THREADS:-} ]] || IFS=, read -ra BUDGETS <<< "$O_THREADS"
for m in "${MODELS[@]}"; do [[ $m == mlp || $m == lenet ]] || { echo "--models: mlp or lenet, not '$m'" >&2; exit 64; }; done
for t in "${BUDGETS[@]}"; do [[ $t == 1 || $t == 2 ]] || { echo "--threads: 1 or 2, not '$t'" >&2; exit 64; }; done
for b in "${BATCHES[@]}" "$ROUNDS"; do [[ $b =~ ^[1-9][0-9]*$ ]] || { echo "not a positive number: '$b'" >&2; exit 64; }; done
SECONDS_PER_WINDOW=1

# --- build what is missing or stale
JAR=benchmarks/target/benchmarks.jar
if [[ ! -f $JAR ]] || [[ -n $(find pom.xml benchmarks/pom.xml benchmarks/src src/core/src/main src/onednn/src/main -newer "$JAR" -type f | head -1) ]]; then
  echo "building $JAR"
  mvn -B -o -q package -DskipTests -pl benchmarks -am # the library from this tree, not ~/.m2
fi
DL4J=benchmarks/peers/dl4j/target/peer-dl4j.jar
TORCH=benchmarks/peers/pytorch/target/peer-pytorch.jar
if [[ ! -f $DL4J || ! -f $TORCH ]] || [[ -n $(find benchmarks/peers -path '*/target' -prune -o -type f \( -name '*.java' -o -name pom.xml \) -newer "$DL4J" -print | head -1) ]] \
   || [[ -n $(find benchmarks/peers -path '*/target' -prune -o -type f \( -name '*.java' -o -name pom.xml \) -newer "$TORCH" -print | head -1) ]]; then
  echo "building the peers (first time: downloads DL4J and the PyTorch preset, about 270 MB)"
  mvn -B -q -f benchmarks/peers/pom.xml package
fi

OUT=benchmarks/target/peers
rm -rf "$OUT"
mkdir -p "$OUT"
RESULTS=$OUT/results.txt
: > "$RESULTS"
source benchmarks/load.sh

START=$(date -u '+%Y-%m-%d %H:%M UTC')
TREE=$(git describe --always --dirty 2>/dev/null || echo '?')
echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "tree: $TREE"
git status --short -- src 2>/dev/null | sed 's/^/  uncommitted: /' || true
echo "top processes now:"; ps -eo pid,pcpu,etime,comm --sort=-pcpu | sed -n 2,6p | sed 's/^/  /'
wait_idle
pre=$(idle 3)
echo "other processes before starting: $pre cores"
if over "$pre" && [[ $FORCE == 0 ]]; then
  echo "machine busy (other processes use $pre cores > $LIMIT): not starting; wait, use --wait, or --force" >&2
  exit 2
fi

DISTURBED=0
# measure TAG ROUND ENV... -- COMMAND...: runs one measurement with ENV (NAME=VALUE words) added to the
# environment, appends its RESULT line (plus round= and others=) to $RESULTS.
measure() {
  local tag=$1 round=$2; shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  local log="$OUT/$tag-r$round.log" json="$OUT/$tag-r$round.json"
  local b0 m0 t0 b1 m1 t1 share attempt line
  for attempt in 1 2 3; do
    wait_idle
    rm -f "$json"
    b0=$(busy); m0=$(mine); t0=$(now)
    env "${envs[@]}" "${@//@JSON@/$json}" > "$log" 2>&1 || { echo "FAILED: $tag (see $log)"; tail -5 "$log"; exit 1; }
    b1=$(busy); m1=$(mine); t1=$(now)
    share=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    over "$share" && [[ $WAIT == 1 && $attempt -lt 3 ]] || break
    echo "  (attempt $attempt disturbed: other processes used $share cores; again)"
  done
  if [[ -f $json ]]; then line=$(python3 benchmarks/peers/report.py jmh "$json" "$CUR_T"); else line=$(grep '^RESULT ' "$log" | tail -1 || true); fi
  [[ -n $line ]] || { echo "FAILED: no RESULT line from $tag (see $log)"; exit 1; }
  over "$share" && DISTURBED=1
  echo "$line round=$round others=$share" >> "$RESULTS"
  printf '  %-40s %12s samples/s, %3.0f s, others %s cores%s\n' "$tag" "$(sed -n 's/.* samples_s=\([0-9.]*\).*/\1/p' <<< "$line")" \
      "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" "$share" "$(over "$share" && echo ' DISTURBED' || true)"
}

JMH=(-f 1 -wi "$WARMUPS" -i "$WINDOWS" -w "$SECONDS_PER_WINDOW" -r "$SECONDS_PER_WINDOW")
PEER=(warmups="$WARMUPS" windows="$WINDOWS" seconds="$SECONDS_PER_WINDOW")
for ((round = 1; round <= ROUNDS; round++)); do
  for t in "${BUDGETS[@]}"; do
    CUR_T=$t # the thread budget, for the JMH result line
    settings=("1 1"); [[ $t == 2 ]] && settings=("2 1" "1 2" "2 2")
    for m in "${MODELS[@]}"; do
      for b in "${BATCHES[@]}"; do
        echo "== round $round/$ROUNDS, $m, batch $b, $t thread(s)"
        steps=(batchwise dl4j)
        for s in "${settings[@]}"; do steps+=("libtorch:$s"); done
        # Alternate the order between rounds, so that no tool always follows the same neighbour.
        if ((round % 2 == 0)); then
          rev=(); for ((i = ${#steps[@]} - 1; i >= 0; i--)); do rev+=("${steps[i]}"); done; steps=("${rev[@]}")
        fi
        for step in "${steps[@]}"; do
          case $step in
            batchwise)
              measure "batchwise-$m-b$b-t$t" "$round" OMP_NUM_THREADS="$t" -- \
                  java -Djmh.ignoreLock=true -jar "$JAR" 'TrainingStepBenchmark\.step$' -p model="$m" -p batch="$b" "${JMH[@]}" -rf json -rff @JSON@ ;;
            dl4j)
              measure "dl4j-$m-b$b-t$t" "$round" OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" -- \
                  java -jar "$DL4J" model="$m" batch="$b" threads="$t" "${PEER[@]}" ;;
            libtorch:*)
              read -r tt bt <<< "${step#libtorch:}"
              measure "libtorch-$m-b$b-t$t-torch$tt-blas$bt" "$round" OMP_NUM_THREADS="$tt" OPENBLAS_NUM_THREADS="$bt" -- \
                  java -jar "$TORCH" model="$m" batch="$b" threads="$t" torch_threads="$tt" blas_threads="$bt" "${PEER[@]}" ;;
          esac
        done
      done
    done
  done
done
END=$(date -u '+%Y-%m-%d %H:%M UTC')

echo
if [[ $DISTURBED == 1 && $FORCE == 0 ]]; then
  echo "NOT REPORTING: other processes used more than $LIMIT cores during some measurements (see $RESULTS); $TABLE unchanged"
  exit 3
fi
CMD="benchmarks/peers.sh${ARGS[*]:+ ${ARGS[*]}}"
python3 benchmarks/peers/report.py table "$RESULTS" "$TABLE" \
    --command "$CMD" --start "$START" --end "$END" --quick "$QUICK" --limit "$LIMIT" \
    --tree "$TREE" \
    --cpu "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) vCPUs, $(lscpu | grep -o 'avx512f' | head -1 | sed 's/avx512f/AVX2 + AVX-512/')" \
    --java "$(java -version 2>&1 | head -1)" \
    --windows "$WARMUPS warm-up + $WINDOWS timed windows of $SECONDS_PER_WINDOW s, $ROUNDS round(s)"
echo "wrote $TABLE"
if [[ $DISTURBED == 1 ]]; then echo "some measurements were disturbed by other processes (exit 3)"; exit 3; fi
echo "all measurements ran on an otherwise idle machine"
