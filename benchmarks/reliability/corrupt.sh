#!/usr/bin/env bash
# corrupt.sh: the command-line trainer on corrupted inputs, for the long reliability suite.
#
#   benchmarks/reliability/corrupt.sh [TRIALS]          (default 300; about 4 s a trial on 2 cores)
#
# Makes a small data folder (the first 512 training and 256 test samples of Fashion-MNIST, two files
# gzipped, two plain), trains 2 steps for a checkpoint, then per trial corrupts one file with a seeded
# RNG (Corrupt.java: an IDX file of the folder, or the checkpoint given to --resume; bit flips, bytes and
# header fields overwritten, truncation, bytes appended, gzip bytes or the IDX bytes inside) and runs
# `batchwise train` on it. A corrupt file must make it exit 1 with one line of error, last on standard
# error, naming the file and a byte offset; no trial may print a Java stack trace or leave an
# hs_err_pid*.log. A file the corruption left valid (a flipped pixel, a label still in 0..9, a gzip time
# stamp) must train (exit 0): those are counted apart. Failed trials' files and output stay in the work
# folder; the others are deleted (and the folder too when all pass and WORK was not given). Prints "corrupt inputs: N trials, F failures (K still valid)" and
# exits 1 on any failure.
#
# Environment: SEED (default 1; trial T of seed S reproduces alone), WORK (default: a new folder under
# /tmp), FASHION_MNIST (the source folder, default /usr/share/datasets/fashion-mnist), BATCHWISE (the
# command, default this checkout's ./batchwise, which builds the trainer when it is out of date),
# JAVA_OPTS (default -Xmx256m: a reader that allocates what a corrupt length asks for fails loudly).
set -uo pipefail

trials=${1:-300}
seed=${SEED:-1}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bw=${BATCHWISE:-$root/batchwise}
src=${FASHION_MNIST:-/usr/share/datasets/fashion-mnist}
work=${WORK:-$(mktemp -d /tmp/batchwise-corrupt.XXXXXX)}
mkdir -p "$work/classes" && work="$(cd "$work" && pwd)" || exit 2
export JAVA_OPTS=${JAVA_OPTS:--Xmx256m}
unset BATCHWISE_DEBUG # stack traces are what the trials look for
args=(train --model mlp --batch 64 --micro-batch 64 --epochs 1 --seed 1)

javac -d "$work/classes" "$root/benchmarks/reliability/Corrupt.java" || exit 2
helper() { java -cp "$work/classes" Corrupt "$@"; }
helper data "$src" "$work/data" 512 256 || exit 2
if ! "$bw" "${args[@]}" --data "$work/data" --steps 2 --out "$work/base" >"$work/base.log" 2>&1; then
    echo "corrupt.sh: the run that makes the checkpoint failed; see $work/base.log" >&2
    exit 2
fi
echo "corrupt inputs: $trials trials, seed $seed, in $work"

failures=0 valid=0
for ((t = 0; t < trials; t++)); do
    dir="$work/trial-$t"
    IFS=$'\t' read -r target file expect what < <(helper mutate "$seed" "$t" "$work/data" "$work/base/last.ckpt" "$dir")
    if [[ -z ${what:-} ]]; then
        echo "corrupt.sh: the helper failed on trial $t" >&2
        exit 2
    fi
    if [[ $target == ckpt ]]; then
        run=("${args[@]}" --data "$work/data" --steps 4 --resume --checkpoint "$dir/ckpt" --out "$dir/out")
    else
        run=("${args[@]}" --data "$dir/data" --steps 2 --out "$dir/out")
    fi
    # In the trial's folder, where a crashing JVM writes its hs_err_pid*.log.
    (cd "$dir" && timeout 600 "$bw" "${run[@]}" >"$dir/stdout" 2>"$dir/stderr")
    rc=$?
    error=$(grep -c '^batchwise train: error: ' "$dir/stderr")
    last=$(tail -n 1 "$dir/stderr")
    problem=""
    if grep -q $'^\tat ' "$dir/stderr"; then
        problem="a stack trace"
    elif compgen -G "$dir/hs_err_pid*.log" >/dev/null; then
        problem="the JVM crashed"
    elif [[ $rc == 0 && $expect != fail ]]; then
        valid=$((valid + 1))
    elif [[ $rc == 0 ]]; then
        problem="exit 0 on a corrupt file"
    elif [[ $expect == valid ]]; then
        problem="exit $rc on a valid file"
    elif [[ $rc != 1 ]]; then
        problem="exit $rc"
    elif [[ $error != 1 || $last != "batchwise train: error: "* ]]; then
        problem="not one error line, last on stderr"
    elif [[ $last != *"$file"* || ! $last =~ offset\ [0-9]+ ]]; then
        problem="the error does not name the file and an offset"
    fi
    if [[ -n $problem ]]; then
        failures=$((failures + 1))
        echo "FAIL trial $t (seed $seed, $target: $what; expected $expect): $problem; exit $rc: $last ($dir)"
    else
        rm -rf "$dir"
    fi
done
echo "corrupt inputs: $trials trials, $failures failures ($valid still valid)"
if ((failures > 0)); then
    exit 1
fi
[[ -n ${WORK:-} ]] || rm -rf "$work" # a folder of our own, with nothing left to look at
