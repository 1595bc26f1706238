#!/usr/bin/env bash
# The two parts of a Spark step that benchmarks/spark.sh cannot separate (issue 19), with executors in separate JVMs
# (local-cluster[2,1,1024]): the driver's cost per task (jobs of 2 .. 256 empty tasks) and the gradient transfer (two
# tasks returning float[P] against float[1]). See src/spark/src/test/java/io/batchwise/spark/SparkOverhead.java.
#
#   benchmarks/spark-overhead.sh [--rounds N] [--wait]
#
# Like run.sh, a run during which other processes took more than 0.10 of a core is marked DISTURBED.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=30 WAIT=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) ROUNDS=$2; shift ;;
    --wait) WAIT=1 ;;
    *) sed -n '2,8p' "$0" >&2; exit 64 ;;
  esac
  shift
done
source benchmarks/load.sh
echo "== machine: $(lscpu | sed -n 's/^Model name:[[:space:]]*//p'), nproc $(nproc), $(java -version 2>&1 | head -1)"
echo "== tree: $(git describe --always --dirty 2>/dev/null || echo '?'), $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
mvn -B -q -o test-compile -pl src/spark -am
mvn -B -q -o dependency:build-classpath -pl src/spark -Dmdep.includeScope=test -Dmdep.outputFile=target/overhead.cp
CP="$PWD/src/spark/target/test-classes:$PWD/src/spark/target/classes:$(cat src/spark/target/overhead.cp)"
OPTS=$(python3 -c "import re;print(' '.join(re.search(r'<spark.java.options>([^$<]*)</spark.java.options>', open('src/spark/pom.xml').read()).group(1).split()))")
wait_idle
b0=$(busy); m0=$(mine); t0=$(now)
SPARK_HOME=$PWD/src/spark/target/spark-home SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 OMP_NUM_THREADS=1 \
  java $OPTS "-Dspark.java.options=$OPTS" -cp "$CP" io.batchwise.spark.SparkOverhead "$ROUNDS" 2>/dev/null
b1=$(busy); m1=$(mine); t1=$(now)
o=$(others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')")
# The executors are this script's children too, so "others" is what the rest of the machine took.
if over "$o"; then echo "== DISTURBED (others $o cores)"; else echo "== idle (others $o cores)"; fi
