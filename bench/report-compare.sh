#!/bin/bash
# flow-report output equivalence: builds REV (default HEAD) and this working tree and renders the
# same inputs with both in every format (text, pmacct, pmacct-csv, pmacct-json, hcd-table, hydra
# with maps and --split files, every flow-tools report, csv, ndjson, html), with aggregation,
# networks, filters, sorting, --top, periods, sizes and bars, and the other tools' dialects; diffs
# stdout, stderr, exit status and every file written, byte for byte.
#   inputs: test/fixtures/report (flows, agg-ab, agg-ba, maps), every fixture capture through the
#   reference flow-capture, aggregates of them by the reference flow-aggregate, dialect samples
#   (goflow v1, nfdump JSON), bad lines.
# Usage: bench/report-compare.sh [REV]   (NOBUILD=1: this tree is already built; OUT=DIR: scratch,
# default $TMPDIR/flowmeter-report-compare). Exit status 1 if any output differs.
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-${TMPDIR:-/tmp}/flowmeter-report-compare}
. "$ROOT/bench/compare-lib.sh"
ref_build "${1:-HEAD}"
new_build

F=$ROOT/test/fixtures/report
N=$F/networks.lst
for f in "$ROOT"/test/fixtures/*.pcap "$ROOT"/test/fixtures/aggregate/*.pcap "$F"/*.pcap; do
  node "$REF/bin/flow-capture.js" -q -r "$f" 2> /dev/null
done > "$IN/captured.ndjson"
node "$REF/bin/flow-aggregate.js" --ab -n "$N" --interval 60 "$IN/captured.ndjson" > "$IN/agg-ab-60.ndjson" 2> /dev/null
node "$REF/bin/flow-aggregate.js" --ba -n "$N" "$IN/captured.ndjson" > "$IN/agg-ba.ndjson" 2> /dev/null
node "$REF/bin/flow-aggregate.js" -a src_host,dst_host,src_port,dst_port,proto,tos,flows "$IN/captured.ndjson" > "$IN/agg-full.ndjson" 2> /dev/null
printf '%s\n' '{"Type":"NETFLOW_V9","TimeReceived":1705320005,"SequenceNum":1,"SamplingRate":0,"SamplerAddress":"192.0.2.1","TimeFlowStart":1705320000,"TimeFlowEnd":1705320001,"Bytes":1500,"Packets":3,"SrcAddr":"10.5.1.10","DstAddr":"192.0.2.80","Etype":2048,"Proto":6,"SrcPort":40000,"DstPort":80,"InIf":0,"OutIf":0,"IPTos":0,"TCPFlags":24,"SrcAS":0,"DstAS":0,"NextHop":"0.0.0.0","SrcNet":0,"DstNet":0}' > "$IN/goflow.ndjson"
printf '%s\n' '[' '{' '"type" : "FLOW", "sampled" : 0, "first" : "2024-01-15T12:00:00.000", "last" : "2024-01-15T12:00:01.000",' \
  '"received" : "2024-01-15T12:00:05.000", "in_packets" : 3, "in_bytes" : 1500, "proto" : 6, "tcp_flags" : "...AP...",' \
  '"src_port" : 40000, "dst_port" : 80, "src_tos" : 0, "src4_addr" : "10.5.1.10", "dst4_addr" : "192.0.2.80", "ip4_router" : "192.0.2.1"' '}' ']' > "$IN/nfdump.json"
{ head -3 "$F/flows.ndjson"; printf '%s\n' '{"bytes":"x"}' 'not json' '{"src_host":"10.0.0.1"}'; tail -3 "$F/flows.ndjson"; } > "$IN/bad.ndjson"

FLOWS=(flows "$F/flows.ndjson" captured "$IN/captured.ndjson")
AGGS=(agg-ab "$F/agg-ab.ndjson" agg-ba "$F/agg-ba.ndjson" agg-ab-60 "$IN/agg-ab-60.ndjson" agg-ba-captured "$IN/agg-ba.ndjson" agg-full "$IN/agg-full.ndjson")
REPORTS=(summary ip-source-address ip-destination-address ip-source/destination-address ip-source-port ip-destination-port
  ip-source/destination-port ip-protocol ip-tos ip-exporter-address ip-next-hop-address input-interface output-interface
  input/output-interface source-as destination-as source/destination-as)
HYDRA=(--good-map "$F/services.map" --object-map "$F/objects.map")

# formats that take any records
for ((i = 0; i < ${#FLOWS[@]}; i += 2)); do
  l=${FLOWS[i]} f=${FLOWS[i + 1]}
  compare "$l" flow-report "$f"
  compare "$l" flow-report -a dst_host --top 5 --bars "$f"
  compare "$l" flow-report -a proto --si --bars "$f"
  compare "$l" flow-report -a src_host,dst_port --iec --sort packets "$f"
  compare "$l" flow-report --ab -n "$N" --format pmacct "$f"
  compare "$l" flow-report --ba -n "$N" --net-source longest --format pmacct -u --flows "$f"
  compare "$l" flow-report -a src_host,dst_host,src_port,dst_port,proto,tos,flows --format pmacct-csv "$f"
  compare "$l" flow-report -a src_host,proto --format pmacct-csv -E '\t' --sort bytes "$f"
  compare "$l" flow-report --ab -n "$N" --format pmacct-json "$f"
  compare "$l" flow-report --ab -n "$N" --format hcd-table "$f"
  compare "$l" flow-report --ba -n "$N" --format hydra "${HYDRA[@]}" "$f"
  compare "$l" flow-report --ab -n "$N" --format hydra --good-id c39501 --begin 1700000000 --end 1700003600 "$f"
  compare "$l" flow-report --ab -n "$N" -f tcp -f 'dst port 53' --format csv "$f"
  compare "$l" flow-report --ab -n "$N" --format ndjson --sort bytes "$f"
  compare "$l" flow-report --format csv "$f"
  compare "$l" flow-report --format ndjson --sort duration --top 10 "$f"
  compare "$l" flow-report --since 1795514316 --until 2000000000 -a src_host "$f"
  compare "$l" flow-report --format html "$f"
  compare "$l" flow-report --format html -a dst_host,proto --interval 5 --si --title 'Subscribers <in & out>' "$f"
  compare "$l" flow-report --format html --iec -o OUTDIR/index.html "$f"
  for r in "${REPORTS[@]}"; do compare "$l" flow-report --format flow-tools --report "$r" "$f"; done
  compare "$l" flow-report --format flow-tools --report ip-source/destination-address --percent --sort flows --top 5 "$f"
done
# formats over aggregate records
for ((i = 0; i < ${#AGGS[@]}; i += 2)); do
  l=${AGGS[i]} f=${AGGS[i + 1]}
  compare "$l" flow-report "$f"
  for fmt in pmacct pmacct-csv pmacct-json hcd-table csv ndjson html; do compare "$l" flow-report --format $fmt "$f"; done
  compare "$l" flow-report --format pmacct --sort key -u "$f"
  compare "$l" flow-report --format pmacct-csv -E ';' --sort packets --top 3 "$f"
  compare "$l" flow-report --format hydra "${HYDRA[@]}" "$f"
  compare "$l" flow-report --format hydra --good-id c39501 --direction ab "$f"
  compare "$l" flow-report --format hydra "${HYDRA[@]}" --split OUTDIR --name agg "$f"
  compare "$l" flow-report -a dst_net,dst_mask --format pmacct "$f"
done
compare ab+ba flow-report --format hydra "${HYDRA[@]}" "$F/agg-ab.ndjson" "$F/agg-ba.ndjson"
compare ab+ba flow-report --format hydra "${HYDRA[@]}" --split OUTDIR --name stat "$F/agg-ab.ndjson" "$F/agg-ba.ndjson"
compare ab+ba flow-report --format html --top 3 --title 'Subscribers <in & out>' "$F/agg-ab.ndjson" "$F/agg-ba.ndjson"
# dialects, stdin, bad input, usage errors
for d in goflow.ndjson nfdump.json; do
  compare "$d" flow-report -a src_host,dst_host "$IN/$d"
  compare "$d" flow-report --input-format flowmeter "$IN/$d"
done
compare nfdump flow-report --input-format nfdump --format csv "$IN/nfdump.json"
STDIN=$F/flows.ndjson compare stdin flow-report --format pmacct -a src_host -
compare bad flow-report "$IN/bad.ndjson"
compare bad flow-report --strict "$IN/bad.ndjson"
compare bad flow-report -v --format hydra "$IN/bad.ndjson"
compare missing flow-report "$IN/nope.ndjson" "$F/flows.ndjson"
compare usage flow-report --format hydra --direction sideways "$F/agg-ab.ndjson"
compare usage flow-report --top -1 "$F/flows.ndjson"
summary
