#!/usr/bin/env bash
# Would worker threads pay for flow-capture with several -r inputs (issue 20)? The most they could
# give is what separate processes give, each decoding one file with no merge cost: this times
# `flow-capture -r A -r B [...]` (one thread, the files in turn) against the same files each in
# its own `flow-capture -r` process, all at once (their outputs to /dev/null, so not even the
# ordered concatenation a real `-r A -r B` owes is paid). Wall time (the job) and user+sys CPU.
#   bench/capture-inputs.sh [FILES=2] [FLOWS per file=500000] [RUNS=3]
set -euo pipefail
files=${1:-2}
flows=${2:-500000}
runs=${3:-3}
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/out/capture-inputs"
mkdir -p "$out"
[ -f "$root/dist/bench/gen-capture.js" ] || (cd "$root" && npx tsc -p .)
capture=("$(command -v node)" "$root/bin/flow-capture.js")
pcaps=()
for ((f = 0; f < files; f++)); do
  p="$out/v9-$flows-$f.pcap"
  [ -s "$p" ] || node "$root/dist/bench/gen-capture.js" v9 "$flows" "$p" $((2055 + f)) > /dev/null
  pcaps+=("$p")
done
args=()
for p in "${pcaps[@]}"; do args+=(-r "$p"); done
now() { date +%s.%N; }
cpu() { awk '{ print $14 + $15 + $16 + $17 }' /proc/$$/stat; } # this shell's reaped children, ticks
tick=$(getconf CLK_TCK)
echo "flow-capture, $files files of $flows NetFlow v9 flows, $runs runs; $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= runs; i++)); do
  c0=$(cpu) t0=$(now)
  "${capture[@]}" "${args[@]}" > /dev/null
  c1=$(cpu) t1=$(now)
  for p in "${pcaps[@]}"; do "${capture[@]}" -r "$p" > /dev/null & done
  wait
  c2=$(cpu) t2=$(now)
  awk -v a="$t0" -v b="$t1" -v c="$t2" -v ca="$c0" -v cb="$c1" -v cc="$c2" -v hz="$tick" 'BEGIN {
    printf "run: one process -r × %d: %.2f s wall, %.2f CPU-s | a process per file: %.2f s wall, %.2f CPU-s | speed-up %.2fx\n",
      '"$files"', b - a, (cb - ca) / hz, c - b, (cc - cb) / hz, (b - a) / (c - b) }'
done
