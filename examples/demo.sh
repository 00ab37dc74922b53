#!/bin/sh
# The whole pipeline on the captures shipped in examples/: decode, aggregate per subscriber, show
# the table `pmacct -s` would show, write the Hydra billing CSV, and check it as hcd-putfile would
# before sending it. Run from a checkout after `npm ci`: examples/demo.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../bin
out=${TMPDIR:-/tmp}/flowmeter-demo.$$
mkdir -p "$out"
trap 'rm -rf "$out"' EXIT

echo "== flows: flow-capture --format text -r examples/*.pcap (first 5 of each capture's records)"
for p in "$here"/softflowd-v5.pcap "$here"/softflowd-v9.pcap "$here"/softflowd-ipfix.pcap; do
  "$bin/flow-capture.js" -r "$p" -o "$out/${p##*/}.ndjson"
done
"$bin/flow-capture.js" --format text -r "$here/softflowd-v9.pcap" | head -5
cat "$out"/*.ndjson >"$out/flows.ndjson"
echo "($(wc -l <"$out/flows.ndjson" | tr -d ' ') flow records)"

echo
echo "== pmacct table: flow-aggregate --ab -n examples/networks.lst -f 'src net SUBSCRIBERS' | flow-report --format pmacct"
"$bin/flow-aggregate.js" --ab -n "$here/networks.lst" -f 'src net 10.5.0.0/16 or src net 2001:db8:5::/48' \
  -o "$out/agg-ab.ndjson" "$out/flows.ndjson"
"$bin/flow-report.js" --format pmacct "$out/agg-ab.ndjson"

echo
echo "== billing CSV: flow-report --format hydra (agg-ab: outgoing bytes per subscriber and remote network)"
"$bin/flow-report.js" --format hydra -o "$out/agg-ab.csv" "$out/agg-ab.ndjson"
cat "$out/agg-ab.csv"

echo
echo "== what hcd-putfile would send: hcd-putfile --dry-run -f agg-ab.csv agg-ab"
"$bin/hcd-putfile.js" --dry-run -u http://hydra@127.0.0.1:8888 -f "$out/agg-ab.csv" agg-ab
