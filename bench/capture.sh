#!/usr/bin/env bash
# flow-capture -r throughput and memory against nfdump's nfcapd and pmacct's nfacctd, on the same
# generated NetFlow v5, v9 and IPFIX captures in the same run.
#
#   bench/capture.sh [FLOWS]        (default 2000000 flows per protocol)
#
# - flow-capture: `flow-capture -r big.pcap > /dev/null` (NDJSON), records counted by its -v summary;
#   best of three runs by CPU time.
# - nfacctd (pmacct): `pcap_savefile` reads the same file and exits at its end; print plugin
#   aggregating the 5-tuple into a CSV (its cheapest complete path). Flows = the file's flows.
# - nfcapd (nfdump 1.7): the Debian build has no `-f pcapfile` (needs --enable-readpcap), so the
#   capture's UDP payloads are replayed as fast as the socket takes them (bench/replay-udp.ts;
#   tcpreplay on lo does not reach local sockets) to nfcapd on 127.0.0.1; flows = what nfcapd
#   stored (nfdump -I), so kernel drops show up as fewer flows. Its wall time is the replay's, so
#   compare it by flows per CPU second.
# - nfcapd+nfdump: the same flows as text, `nfdump -R DIR -o json > /dev/null` over nfcapd's
#   files; its CPU is nfcapd's plus nfdump's (both are needed to get text records).
# Every process runs under /usr/bin/time: wall, user+sys CPU (children included: nfacctd's plugin)
# and peak RSS. flows/s = flows / wall; flows/CPU-s = flows / (user+sys). Ratios are flow-capture's
# flows/CPU-s over the peer's. Captures are cached in bench/out/ (git-ignored).
set -euo pipefail
FLOWS=${1:-2000000}
root="$(cd "$(dirname "$0")/.." && pwd)"
out="$root/bench/out"
mkdir -p "$out"
cd "$root"
[ -f dist/bench/gen-capture.js ] || npx tsc -p .
PORT=29055
TIME=/usr/bin/time
# Seen on a VM: /dev/null was a regular file on devtmpfs, so every "discarded" byte was written
# to memory (~1 ns/byte of sys time) and flow-capture's figures were off by a third.
if [ ! -c /dev/null ]; then
  echo "capture.sh: /dev/null is not a character device (ls -l /dev/null); figures would include writing the output to it. Fix: rm -f /dev/null && mknod -m 666 /dev/null c 1 3" >&2
  exit 1
fi

have() { command -v "$1" >/dev/null 2>&1; }
rows=()
# row kind tool flows wall cpu rss_kb note
row() { rows+=("$(printf '%s|%s|%s|%s|%s|%s|%s' "$@")"); }

measure() { # file-for-time-output cmd... ; sets W C M
  local tf=$1; shift
  "$TIME" -f '%e %U %S %M' -o "$tf" "$@"
  read -r W u s M < <(tail -1 "$tf")
  C=$(echo "$u + $s" | bc)
}

for kind in v5 v9 ipfix; do
  cap="$out/$kind-$FLOWS.pcap"
  if [ ! -s "$cap" ]; then node dist/bench/gen-capture.js "$kind" "$FLOWS" "$cap" "$PORT" >/dev/null; fi
  size=$(stat -c %s "$cap")
  echo "capture.sh: $kind: $(basename "$cap") $((size / 1048576)) MiB, $FLOWS flows" >&2

  # flow-capture, best of 3 by CPU time (the machine may be shared)
  best=""
  for _ in 1 2 3; do
    measure "$out/time.fc" node bin/flow-capture.js -v -r "$cap" >/dev/null 2>"$out/fc.err"
    if [ -z "$best" ] || [ "$(echo "$C < $bC" | bc)" = 1 ]; then best=1; bW=$W; bC=$C; bM=$M; fi
  done
  n=$(grep -o '[0-9]* records' "$out/fc.err" | head -1 | cut -d' ' -f1)
  row "$kind" flow-capture "$n" "$bW" "$bC" "$bM" "NDJSON to /dev/null, best of 3"

  # pmacct nfacctd
  if have nfacctd; then
    rm -f "$out/nfacctd.csv"
    cat >"$out/nfacctd.conf" <<CONF
daemonize: false
pcap_savefile: $cap
plugins: print
aggregate: src_host, dst_host, src_port, dst_port, proto
print_output: csv
print_output_file: $out/nfacctd.csv
print_refresh_time: 86400
logfile: $out/nfacctd.log
CONF
    measure "$out/time.nfacctd" nfacctd -f "$out/nfacctd.conf"
    row "$kind" nfacctd "$FLOWS" "$W" "$C" "$M" "pcap_savefile, print plugin (5-tuple)"
  fi

  # nfdump nfcapd, replayed
  if have nfcapd && have nfdump; then
    rm -rf "$out/nfcapd" && mkdir -p "$out/nfcapd"
    "$TIME" -f '%e %U %S %M' -o "$out/time.nfcapd" nfcapd -b 127.0.0.1 -p "$PORT" -w "$out/nfcapd" -t 3600 -B 33554432 >"$out/nfcapd.log" 2>&1 &
    tp=$!
    trap 'pkill -TERM -P '"$tp"' 2>/dev/null || true' EXIT
    sleep 1
    node dist/bench/replay-udp.js "$cap" 127.0.0.1 "$PORT" >"$out/replay.log"
    sleep 2
    pkill -TERM -P "$tp" 2>/dev/null || true
    wait "$tp" || true
    trap - EXIT
    read -r W u s M < <(tail -1 "$out/time.nfcapd")
    C=$(echo "$u + $s" | bc)
    n=$(nfdump -R "$out/nfcapd" -I 2>/dev/null | awk '/^Flows:/ {print $2; exit}')
    row "$kind" nfcapd "${n:-0}" "$W" "$C" "$M" "UDP replay $(cat "$out/replay.log"); stored ${n:-0} of $FLOWS"
    # nfcapd stores binary records; the text records flow-capture writes take nfdump as well
    Cstore=$C
    measure "$out/time.nfdump" nfdump -R "$out/nfcapd" -o json >/dev/null
    row "$kind" nfcapd+nfdump "${n:-0}" "$W" "$(echo "$Cstore + $C" | bc)" "$M" "nfdump -o json of nfcapd's files to /dev/null: wall is nfdump's, CPU both"
  fi
done

printf '\n%-6s %-14s %10s %8s %8s %12s %12s %9s %8s  %s\n' kind tool flows wall_s cpu_s flows/s flows/CPU-s rss_MB ratio note
base=0
for r in "${rows[@]}"; do
  IFS='|' read -r kind tool n w c m note <<<"$r"
  fps=$(echo "$n / $w" | bc)
  fpc=$(echo "$n / $c" | bc)
  if [ "$tool" = flow-capture ]; then base=$fpc; ratio=1.00; else ratio=$(echo "scale=2; $base / $fpc" | bc); fi
  printf '%-6s %-14s %10s %8s %8s %12s %12s %9s %8s  %s\n' "$kind" "$tool" "$n" "$w" "$c" "$fps" "$fpc" "$((m / 1024))" "$ratio" "$note"
done
