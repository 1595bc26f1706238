# Sourced by run.sh and peers.sh: how much CPU other processes take while we measure.
# oneDNN's and libtorch's OpenMP threads spin-wait, so on a 2-core machine any other busy process slows a
# measurement by 10-50x; a measurement during which others took more than LIMIT cores is not reported.
# Needs WAIT (1: wait for an idle machine) set by the caller.

HZ=$(getconf CLK_TCK)
LIMIT=0.10 # cores other processes may use while we measure

busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9}' /proc/stat; }      # user nice system irq softirq steal
mine() { awk '{print $14+$15+$16+$17}' "/proc/$$/stat"; }           # this shell + waited-for children
now() { date +%s.%N; }
others() { awk -v b="$1" -v m="$2" -v t="$3" -v hz="$HZ" 'BEGIN{v=(b-m)/hz/t; if (v<0) v=0; printf "%.2f", v}'; }
over() { awk -v x="$1" -v l="$LIMIT" 'BEGIN{exit !(x>l)}'; }

# idle SECONDS: other processes' CPU use, in cores, over the next SECONDS.
idle() {
  local b0 m0 t0 b1 m1 t1
  b0=$(busy); m0=$(mine); t0=$(now); sleep "$1"; b1=$(busy); m1=$(mine); t1=$(now)
  others "$((b1 - b0))" "$((m1 - m0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')"
}

# wait_idle: with WAIT=1, until 5 s pass with others under the limit (30 min at most).
wait_idle() {
  [[ $WAIT == 1 ]] || return 0
  local deadline=$(($(date +%s) + 1800)) s
  while s=$(idle 5) && over "$s"; do
    if (($(date +%s) > deadline)); then echo "still busy after 30 min (others $s cores)"; return 0; fi
    sleep 15
  done
}
