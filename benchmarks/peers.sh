#!/usr/bin/env bash
# Batchwise side by side with Deeplearning4j and libtorch: the same training step (MLP 784-256-128-10 and
# LeNet-5, softmax cross-entropy, plain SGD lr 0.01, float32) at the same batch sizes and thread budgets,
# the three alternated configuration by configuration in one run; writes benchmarks/PEERS.md.
#
#   benchmarks/peers.sh [--quick] [--force] [--wait] [--rounds N] [--out FILE]
#                       [--models mlp,lenet] [--batches 1,32,128,512] [--threads 1,2]
#   benchmarks/peers.sh --time-to-accuracy [--quick] [--force] [--wait] [--rounds N] [--out FILE]
#                       [--models lenet,mlp] [--threads 1,2]
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
# --time-to-accuracy: instead of the step table, end-to-end time to a target test accuracy (LeNet-5 0.90, MLP 0.88)
# for Batchwise's main job, `batchwise train --model M --epochs 5` (AdamW lr 0.004, weight decay 0.1, batch 32,
# 5% warm-up then cosine, seed 1, shuffled every epoch, test set after every epoch), and the same job in libtorch's
# and DL4J's own loops (benchmarks/peers/README.md), each at every thread setting of the budgets (libtorch's
# torch/BLAS combinations as above), 1 round; writes (or replaces) the "Time to accuracy" section of PEERS.md and
# leaves the step tables as they are. Full: 2 models x 1 and 2 threads, 20 runs, about 30 minutes on an idle 2-core
# machine, most of it DL4J's LeNet-5 (about 5 min per run) and libtorch's oversubscribed torch 2 / BLAS 2 setting
# (4-6 min per model).
# With --quick: 1 epoch on the first 10,000 training images, target 0.75, 2 threads (about 3 minutes).
#   Batchwise  OMP_NUM_THREADS=T java ... io.batchwise.cli.Main train --model M --epochs E --out DIR (what
#              ./batchwise train runs; the jar is built with `mvn package`, never installed); times from DIR/epochs.csv
#   DL4J       OMP_NUM_THREADS=T java -cp .../peer-dl4j.jar io.batchwise.peers.dl4j.Dl4jTimeToAccuracy model=M threads=T ...
#   libtorch   OMP_NUM_THREADS=t OPENBLAS_NUM_THREADS=b java -cp .../peer-pytorch.jar
#              io.batchwise.peers.pytorch.TorchTimeToAccuracy model=M threads=T torch_threads=t blas_threads=b ...
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
TTA=0
FORCE=0
WAIT=0
ROUNDS=
TABLE=benchmarks/PEERS.md
ARGS=("$@")
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --time-to-accuracy) TTA=1 ;;
    --force) FORCE=1 ;;
    --wait) WAIT=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --out) TABLE=$2; shift ;;
    --models) O_MODELS=$2; shift ;;
    --batches) O_BATCHES=$2; shift ;;
    --threads) O_THREADS=$2; shift ;;
    *) echo "usage: $0 [--time-to-accuracy] [--quick] [--force] [--wait] [--rounds N] [--out FILE] [--models mlp,lenet] [--batches 1,32,128,512] [--threads 1,2]" >&2
       exit 64 ;;
  esac
  shift
done
if [[ $TTA == 1 ]]; then
  [[ -z ${O_BATCHES:-} ]] || { echo "--batches: not with --time-to-accuracy (the job's batch is 32)" >&2; exit 64; }
  MODELS=(lenet mlp); BATCHES=(32); BUDGETS=(1 2); ROUNDS=${ROUNDS:-1}
  # The job: epochs, the training images used (TRAIN_LIMIT, 0 = all 60,000) and the target test accuracy per model.
  EPOCHS=5; TRAIN_LIMIT=0; declare -A TARGET=([lenet]=0.90 [mlp]=0.88)
  if [[ $QUICK == 1 ]]; then BUDGETS=(2); EPOCHS=1; TRAIN_LIMIT=10000; TARGET=([lenet]=0.75 [mlp]=0.75); fi
elif [[ $QUICK == 1 ]]; then
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
if [[ $TTA == 1 ]]; then
  # The command-line trainer as ./batchwise runs it, built from this tree without `mvn install` (the launcher's
  # build installs into ~/.m2).
  CLI=src/cli/target/batchwise-cli-0.1.0-SNAPSHOT.jar
  if [[ ! -f $CLI || ! -f src/cli/target/classpath.txt ]] \
     || [[ -n $(find pom.xml src -name target -prune -o -type f \( -name '*.java' -o -name pom.xml -o -path '*/src/main/resources/*' \) -newer "$CLI" -print | head -1) ]]; then
    echo "building $CLI"
    mvn -B -o -q package -DskipTests -pl src/cli -am
  fi
  BATCHWISE=(java -Dorg.bytedeco.javacpp.maxPhysicalBytes=0 -Djava.awt.headless=true -Dbatchwise.tty=false
             -cp "$CLI:$(cat src/cli/target/classpath.txt)" io.batchwise.cli.Main)
else
  JAR=benchmarks/target/benchmarks.jar
  if [[ ! -f $JAR ]] || [[ -n $(find pom.xml benchmarks/pom.xml benchmarks/src src/core/src/main src/onednn/src/main -newer "$JAR" -type f | head -1) ]]; then
    echo "building $JAR"
    mvn -B -o -q package -DskipTests -pl benchmarks -am # the library from this tree, not ~/.m2
  fi
fi
DL4J=benchmarks/peers/dl4j/target/peer-dl4j.jar
TORCH=benchmarks/peers/pytorch/target/peer-pytorch.jar
if [[ ! -f $DL4J || ! -f $TORCH ]] || [[ -n $(find benchmarks/peers -path '*/target' -prune -o -type f \( -name '*.java' -o -name pom.xml \) -newer "$DL4J" -print | head -1) ]] \
   || [[ -n $(find benchmarks/peers -path '*/target' -prune -o -type f \( -name '*.java' -o -name pom.xml \) -newer "$TORCH" -print | head -1) ]]; then
  echo "building the peers (first time: downloads DL4J and the PyTorch preset, about 270 MB)"
  mvn -B -q -f benchmarks/peers/pom.xml package
fi

OUT=benchmarks/target/peers$([[ $TTA == 1 ]] && echo -tta || true)
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
# environment, appends its RESULT line (plus round=, others= and wall_s=, the command's wall time) to $RESULTS.
# In COMMAND, @JSON@ names a file for JMH's JSON result and @RUNDIR@ a folder for `batchwise train --out`.
measure() {
  local tag=$1 round=$2; shift 2
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  local log="$OUT/$tag-r$round.log" json="$OUT/$tag-r$round.json" dir="$OUT/$tag-r$round"
  local b0 m0 t0 b1 m1 t1 share attempt line wall cmd
  cmd=("${@//@JSON@/$json}")
  cmd=("${cmd[@]//@RUNDIR@/$dir}")
  for attempt in 1 2 3; do
    wait_idle
    rm -rf "$json" "$dir"
    b0=$(busy); m0=$(mine); t0=$(now)
    env "${envs[@]}" "${cmd[@]}" > "$log" 2>&1 || { echo "FAILED: $tag (see $log)"; tail -5 "$log"; exit 1; }
    b1=$(busy); m1=$(mine); t1=$(now)
    share=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
    over "$share" && [[ $WAIT == 1 && $attempt -lt 3 ]] || break
    echo "  (attempt $attempt disturbed: other processes used $share cores; again)"
  done
  if [[ -f $json ]]; then line=$(python3 benchmarks/peers/report.py jmh "$json" "$CUR_T")
  elif [[ -f $dir/epochs.csv ]]; then line=$(python3 benchmarks/peers/report.py batchwise-run "$dir" "$CUR_T" "$CUR_TARGET")
  else line=$(grep '^RESULT ' "$log" | tail -1 || true); fi
  [[ -n $line ]] || { echo "FAILED: no RESULT line from $tag (see $log)"; exit 1; }
  over "$share" && DISTURBED=1
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
  echo "$line round=$round others=$share wall_s=$wall" >> "$RESULTS"
  if [[ $TTA == 1 ]]; then
    printf '  %-40s to target %6s s (epoch %s), accuracy %s, %5.0f s in all, others %s cores%s\n' "$tag" \
        "$(sed -n 's/.* time_to_target_s=\([^ ]*\).*/\1/p' <<< "$line")" "$(sed -n 's/.* reached_epoch=\([^ ]*\).*/\1/p' <<< "$line")" \
        "$(sed -n 's/.* accuracy=\([^ ]*\).*/\1/p' <<< "$line")" "$wall" "$share" "$(over "$share" && echo ' DISTURBED' || true)"
  else
    printf '  %-40s %12s samples/s, %3.0f s, others %s cores%s\n' "$tag" "$(sed -n 's/.* samples_s=\([0-9.]*\).*/\1/p' <<< "$line")" \
        "$wall" "$share" "$(over "$share" && echo ' DISTURBED' || true)"
  fi
}

# The tools of one configuration in this round's order: Batchwise, DL4J, libtorch at every (torch, BLAS) setting of
# budget $1 (T=1: (1, 1); T=2: (2, 1), (1, 2), (2, 2)); reversed every other round, so that no tool always follows
# the same neighbour.
tools() {
  local t=$1 round=$2 s steps=(batchwise dl4j) rev=() i
  local settings=("1 1"); [[ $t == 2 ]] && settings=("2 1" "1 2" "2 2")
  for s in "${settings[@]}"; do steps+=("libtorch:$s"); done
  if ((round % 2 == 0)); then
    for ((i = ${#steps[@]} - 1; i >= 0; i--)); do rev+=("${steps[i]}"); done; steps=("${rev[@]}")
  fi
  printf '%s\n' "${steps[@]}"
}

if [[ $TTA == 1 ]]; then
  for ((round = 1; round <= ROUNDS; round++)); do
    for m in "${MODELS[@]}"; do
      CUR_TARGET=${TARGET[$m]}
      JOB=(model="$m" epochs="$EPOCHS" train_limit="$TRAIN_LIMIT" target="$CUR_TARGET")
      BW=(train --model "$m" --epochs "$EPOCHS" --out @RUNDIR@); [[ $TRAIN_LIMIT == 0 ]] || BW+=(--train-limit "$TRAIN_LIMIT")
      for t in "${BUDGETS[@]}"; do
        CUR_T=$t
        echo "== round $round/$ROUNDS, $m to $CUR_TARGET, $t thread(s)"
        mapfile -t steps < <(tools "$t" "$round")
        for step in "${steps[@]}"; do
          case $step in
            batchwise)
              measure "batchwise-$m-t$t" "$round" OMP_NUM_THREADS="$t" -- "${BATCHWISE[@]}" "${BW[@]}" ;;
            dl4j)
              measure "dl4j-$m-t$t" "$round" OMP_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" -- \
                  java -cp "$DL4J" io.batchwise.peers.dl4j.Dl4jTimeToAccuracy threads="$t" "${JOB[@]}" ;;
            libtorch:*)
              read -r tt bt <<< "${step#libtorch:}"
              measure "libtorch-$m-t$t-torch$tt-blas$bt" "$round" OMP_NUM_THREADS="$tt" OPENBLAS_NUM_THREADS="$bt" -- \
                  java -cp "$TORCH" io.batchwise.peers.pytorch.TorchTimeToAccuracy threads="$t" torch_threads="$tt" blas_threads="$bt" "${JOB[@]}" ;;
          esac
        done
      done
    done
  done
  END=$(date -u '+%Y-%m-%d %H:%M UTC')
  echo
  if [[ $DISTURBED == 1 && $FORCE == 0 ]]; then
    echo "NOT REPORTING: other processes used more than $LIMIT cores during some runs (see $RESULTS); $TABLE unchanged"
    exit 3
  fi
  CMD="benchmarks/peers.sh${ARGS[*]:+ ${ARGS[*]}}"
  if [[ $TRAIN_LIMIT == 0 ]]; then DATA="the 60,000 training images"; N=60000
  else DATA="the first $(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<< "$TRAIN_LIMIT") training images"; N=$TRAIN_LIMIT; fi
  python3 benchmarks/peers/report.py tta "$RESULTS" "$TABLE" \
      --command "$CMD" --start "$START" --end "$END" --quick "$QUICK" --limit "$LIMIT" \
      --tree "$TREE" \
      --cpu "$(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), $(nproc) vCPUs, $(lscpu | grep -o 'avx512f' | head -1 | sed 's/avx512f/AVX2 + AVX-512/')" \
      --java "$(java -version 2>&1 | head -1)" \
      --windows "thread budgets ${BUDGETS[*]}, $ROUNDS round(s), the tools alternating (order reversed every other round)" \
      --job "$EPOCHS epoch(s) over $DATA (batch 32, $(( (N + 31) / 32 )) steps an epoch), test set (10,000) after every epoch; targets: $(for m in "${MODELS[@]}"; do printf '%s %s; ' "$([[ $m == lenet ]] && echo LeNet-5 || echo MLP)" "${TARGET[$m]}"; done | sed 's/; $//')"
  echo "wrote the time-to-accuracy section of $TABLE"
  if [[ $DISTURBED == 1 ]]; then echo "some runs were disturbed by other processes (exit 3)"; exit 3; fi
  echo "all runs ran on an otherwise idle machine"
  exit 0
fi

JMH=(-f 1 -wi "$WARMUPS" -i "$WINDOWS" -w "$SECONDS_PER_WINDOW" -r "$SECONDS_PER_WINDOW")
PEER=(warmups="$WARMUPS" windows="$WINDOWS" seconds="$SECONDS_PER_WINDOW")
for ((round = 1; round <= ROUNDS; round++)); do
  for t in "${BUDGETS[@]}"; do
    CUR_T=$t # the thread budget, for the JMH result line
    for m in "${MODELS[@]}"; do
      for b in "${BATCHES[@]}"; do
        echo "== round $round/$ROUNDS, $m, batch $b, $t thread(s)"
        mapfile -t steps < <(tools "$t" "$round")
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
