#!/bin/bash
# flow-capture output equivalence: builds REV (default HEAD) and this working tree, reads every
# fixture capture with both (every pcap/pcapng/gzip variant and link type under test/fixtures and
# examples/, NetFlow v1/v5/v7/v9, IPFIX, sFlow) in every output mode (ndjson, csv, text,
# --fields, --counters, --allow, --strict, -v/-vv/-q, -o FILE, stdin, several files at once, a
# missing file) and diffs stdout, stderr, exit status and every file written, byte for byte.
# Usage: bench/capture-compare.sh [REV]   (NOBUILD=1: this tree is already built; OUT=DIR: scratch,
# default $TMPDIR/flowmeter-capture-compare). Exit status 1 if any output differs.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/flowmeter-capture-compare}
. "$ROOT/bench/compare-lib.sh"
ref_build "${1:-HEAD}"
new_build

F=$ROOT/test/fixtures
PCAPS=("$F"/*.pcap "$F"/aggregate/*.pcap "$F"/report/*.pcap "$F"/netflow/*.pcap "$F"/pcap/*.pcap "$F"/pcap/*.pcapng "$F"/pcap/*.gz "$ROOT"/examples/*.pcap)
printf '%s\n' 10.0.0.0/8 192.0.2.0/24 > "$IN/allow.lst"

for f in "${PCAPS[@]}"; do
  n=${f#"$ROOT"/}
  compare "$n" flow-capture -r "$f"
  compare "$n" flow-capture -v --format csv -r "$f"
  compare "$n" flow-capture -vv --format text -r "$f"
  compare "$n" flow-capture --format csv --fields time_flow_start_ns,src_addr,dst_addr,proto,bytes,packets,sampling_rate -r "$f"
  compare "$n" flow-capture --format text --fields type,sampler_address,src_addr,src_port,dst_addr,dst_port,in_if,out_if -r "$f"
  compare "$n" flow-capture --counters -r "$f"
  compare "$n" flow-capture --strict -r "$f"
  compare "$n" flow-capture -q --allow 127.0.0.0/8 --allow "$IN/allow.lst" -r "$f"
  compare "$n" flow-capture --allow 192.0.2.0/24 -o OUTDIR/flows.ndjson -r "$f"
  STDIN=$f compare "$n" flow-capture -r -
done
compare all flow-capture -r "${PCAPS[@]}"
compare all flow-capture --format csv -o OUTDIR/all.csv -r "${PCAPS[@]}"
compare missing flow-capture -r "$IN/nope.pcap" -r "$F/pmacct-v5.pcap"
: > "$IN/empty.pcap"
head -c 100 "$F/pmacct-v9.pcap" > "$IN/truncated.pcap"
for f in empty truncated; do compare "$f" flow-capture -r "$IN/$f.pcap"; done
summary
