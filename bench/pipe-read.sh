#!/usr/bin/env bash
# Reading a pipe against reading a file: `flow-aggregate -j 1 -a none` (reading and scanning
# only) on FILE as an argument, through a stdin pipe (cat FILE |), through a FIFO (<(cat FILE))
# and with stdin redirected from FILE (< FILE),
# RUNS times each in turn. GNU time measures the flow-aggregate process alone (cat's CPU is not
# counted). Prints wall, CPU (user+sys) and peak RSS per run and the medians.
# Usage: bench/pipe-read.sh FILE [RUNS=5] [REPO=this checkout]
set -euo pipefail
file=${1:?usage: bench/pipe-read.sh FILE [RUNS] [REPO]}
runs=${2:-5}
repo=${3:-$(cd "$(dirname "$0")/.." && pwd)}
agg=("$(command -v node)" "$repo/bin/flow-aggregate.js" -j 1 -a none)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fmt='%e %U %S %M'

for ((i = 1; i <= runs; i++)); do
  /usr/bin/time -f "$fmt" -o "$out/file.$i" "${agg[@]}" "$file" > /dev/null
  cat "$file" | /usr/bin/time -f "$fmt" -o "$out/pipe.$i" "${agg[@]}" > /dev/null
  /usr/bin/time -f "$fmt" -o "$out/fifo.$i" "${agg[@]}" <(cat "$file") > /dev/null
  /usr/bin/time -f "$fmt" -o "$out/redir.$i" "${agg[@]}" < "$file" > /dev/null
done

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "flow-aggregate -j 1 -a none, $(wc -l < "$file") lines, $runs runs, $repo ($(git -C "$repo" rev-parse --short HEAD)); load: $(cut -d' ' -f1-3 /proc/loadavg)"
for what in file pipe fifo redir; do
  runs_line=$(for ((i = 1; i <= runs; i++)); do awk '{ printf "%s/%.2f ", $1, $2 + $3 }' "$out/$what.$i"; done)
  wall=$(for ((i = 1; i <= runs; i++)); do awk '{ print $1 }' "$out/$what.$i"; done | median)
  cpu=$(for ((i = 1; i <= runs; i++)); do awk '{ print $2 + $3 }' "$out/$what.$i"; done | median)
  rss=$(for ((i = 1; i <= runs; i++)); do awk '{ print $4 / 1024 }' "$out/$what.$i"; done | median)
  printf '%-5s median %s s wall, %s s CPU, %.0f MB peak RSS (wall/CPU per run: %s)\n' "$what" "$wall" "$cpu" "$rss" "$runs_line"
done
