#!/bin/bash
# flow-aggregate output equivalence: runs a reference build (REF: a directory with bin/ and dist/
# of an earlier commit, e.g. a copy of main's) and this tree's build over the same inputs in
# every mode (all primitives, networks file sources, filters, bins, pro-rating, renormalisation,
# merges, CSV, sort orders, bad lines, --strict, -v) and diffs stdout, stderr, exit status and
# every -o file byte for byte.
#   inputs: every fixture pcap through flow-capture; 20,000 random/edge-case lines
#   (test/helpers/flow-lines.ts); the first LINES lines of bench/out/aggregate's 1M-flow file
#   (run dist/bench/aggregate.js once to create it; FULL=1 uses all of it).
# Usage: npx tsc -p . && bench/aggregate-compare.sh REF [LINES [NEW]]   (NEW: a build to test
# instead of this tree's, e.g. a copy, so that the tree can be rebuilt meanwhile)
set -u -o pipefail
REF=${1:?usage: $0 REF_DIR [LINES]}
LINES=${2:-200000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NEW=${3:-$ROOT}
OUT=$ROOT/bench/out/compare
rm -rf "$OUT" && mkdir -p "$OUT/in"
IN=$OUT/in

# inputs
for f in "$ROOT"/test/fixtures/*.pcap "$ROOT"/test/fixtures/aggregate/*.pcap "$ROOT"/test/fixtures/report/*.pcap; do
  node "$ROOT/bin/flow-capture.js" -q -r "$f" 2>/dev/null
done > "$IN/fixtures.ndjson"
node --input-type=module -e "
import { rng, randomLine } from '$ROOT/dist/test/helpers/flow-lines.js';
const r = rng(7); const out = [];
for (let i = 0; i < 20000; i++) out.push(randomLine(r));
process.stdout.write(out.join('\n') + '\n');
" > "$IN/edge.ndjson"
printf '%s\r\n' '{"bytes":5,"src_addr":"10.0.0.1"}' '' '{"bytes":"x"}' > "$IN/crlf.ndjson"
BIG=$ROOT/bench/out/aggregate/flows-1000000.ndjson
if [ -f "$BIG" ]; then
  if [ "${FULL:-0}" = 1 ]; then ln -sf "$BIG" "$IN/big.ndjson"; else head -n "$LINES" "$BIG" > "$IN/big.ndjson"; fi
fi
# networks: the fixture report networks, prefixes around fixture/edge addresses, v6, and the bench's 10,000
{
  cat "$ROOT/test/fixtures/report/networks.lst"
  printf '%s\n' '10.0.0.0/8' '10.0.0.0/16' '10.0.3.0/24' '192.168.0.0/16' '8.8.8.0/24' '1.2.3.4/32' '2001:db8::/32' '2001:db8:5::/48' '::1/128' '0.0.0.0/1'
  grep -ho '"src_addr":"[0-9.]*"' "$IN/fixtures.ndjson" | sort -u | head -50 | sed 's/.*:"\(.*\)"/\1\/24/'
  grep -ho '"dst_addr":"[0-9a-f:]*"' "$IN/fixtures.ndjson" | grep ':' | sort -u | head -20 | sed 's/.*:"\(.*\)"/\1\/64/'
} > "$IN/nets.lst"
[ -f "$ROOT/bench/out/aggregate/networks.lst" ] && cat "$ROOT/bench/out/aggregate/networks.lst" >> "$IN/nets.lst"
N=$IN/nets.lst
# aggregates to merge back in (made by the reference)
node "$REF/bin/flow-aggregate.js" --ab -n "$N" "$IN/fixtures.ndjson" > "$IN/agg-ab.ndjson" 2>/dev/null
node "$REF/bin/flow-aggregate.js" --ab -n "$N" --interval 60 "$IN/fixtures.ndjson" > "$IN/agg-ab-60.ndjson" 2>/dev/null
cat > "$IN/two.conf" <<EOF
aggregate[ab]: src_host, dst_net, dst_mask
aggregate[ba]: src_net, src_mask, dst_host
aggregate[proto]: proto, tcpflags, etype
aggregate_filter[ab]: src net 10.0.0.0/8 or src net 192.168.0.0/16
aggregate_filter[ba]: dst net 10.0.0.0/8
print_output_file[ab]: ab.out
print_output_file[ba]: ba.out
print_output_file[proto]: proto.out
networks_file: $N
EOF

ALL="in_iface,out_iface,etype,src_as,dst_as,peer_src_ip,src_host,src_net,dst_host,dst_net,src_mask,dst_mask,src_port,dst_port,tcpflags,proto,tos,sampling_rate"
MODES=(
  "-a src_host"
  "--ab -n $N"
  "--ba -n $N"
  "--ab -n $N --format csv"
  "--ab -n $N --sort bytes"
  "--ba -n $N --sort packets"
  "-a $ALL"
  "-a $ALL -n $N"
  "-a $ALL -n $N --net-source longest"
  "-a $ALL -n $N --net-source exporter --renormalize"
  "-a $ALL --format csv"
  "-a src_net,dst_net,src_mask,dst_mask"
  "-a src_net,dst_net -n $N --net-source longest"
  "-a sum_host"
  "-a sum_net -n $N"
  "-a sum_net"
  "-a sum_port"
  "-a sum_as"
  "-a none"
  "-a none --format csv"
  "-a flows,dst_port,proto"
  "-a src_host,dst_host --interval 300"
  "-a dst_host --interval 60 --pro-rate"
  "-a src_host --interval 5m --time arrival"
  "--ab -n $N --interval 1h --pro-rate --sort bytes"
  "-a sampling_rate,src_host --renormalize"
  "-a src_host,tcpflags --renormalize --interval 60"
  "-a dst_port -f tcp\\ and\\ port\\ 443"
  "--ab -n $N -f src\\ net\\ 10.0.0.0/8 -f udp"
  "-a src_host,dst_host -f ip6"
  "-a src_host,dst_host -f not\\ ip\\ and\\ not\\ ip6"
  "-a proto -f portrange\\ 1-1024\\ or\\ host\\ 2001:db8::1"
  "--strict --ab -n $N"
  "-v --ab -n $N"
  "-q -a src_host"
  "-c $IN/two.conf"
  "-c $IN/two.conf --format csv --sort bytes"
  "--ab -o ab=- --ba -o ba=OUTDIR/ba.ndjson -n $N"
)

fail=0
runs=0
compare() { # label, input files..., then -- then args
  local label=$1; shift
  local inputs=()
  while [ "$1" != -- ]; do inputs+=("$1"); shift; done; shift
  local args="$*"
  for side in ref new; do
    local bin=$REF; [ $side = new ] && bin=$NEW
    local d=$OUT/run/$side; rm -rf "$d"; mkdir -p "$d"
    local a=${args//OUTDIR/$d}
    # config outputs are relative to the config: copy it next to the outputs
    if [[ $a == *two.conf* ]]; then cp "$IN/two.conf" "$d/two.conf"; a=${a//$IN\/two.conf/$d\/two.conf}; fi
    eval "node '$bin/bin/flow-aggregate.js' $a ${inputs[*]}" > "$d/stdout" 2> "$d/stderr"
    echo $? > "$d/status"
    sed -i "s#$d#OUTDIR#g; s#$REF#ROOT#g; s#$NEW#ROOT#g; s#$ROOT#ROOT#g" "$d/stderr"
  done
  runs=$((runs + 1))
  if ! diff -r -q "$OUT/run/ref" "$OUT/run/new" > /dev/null; then
    fail=$((fail + 1))
    echo "DIFF: $label: $args"
    diff -r "$OUT/run/ref" "$OUT/run/new" | head -20
  fi
}

for inp in fixtures edge crlf big; do
  [ -f "$IN/$inp.ndjson" ] || continue
  for m in "${MODES[@]}"; do
    compare "$inp" "$IN/$inp.ndjson" -- "$m"
  done
done
# merges: aggregates alone, aggregates + flows, binned aggregates, a filter refusing aggregates, stdin
compare merge "$IN/agg-ab.ndjson" -- "--ab"
compare merge "$IN/agg-ab.ndjson" "$IN/agg-ab.ndjson" -- "--ab --format csv"
compare merge-mixed "$IN/agg-ab.ndjson" "$IN/fixtures.ndjson" -- "--ab -n $N"
compare merge-mixed "$IN/fixtures.ndjson" "$IN/agg-ab.ndjson" -- "-a src_host"
compare merge-binned "$IN/agg-ab-60.ndjson" -- "--ab --interval 300"
compare merge-filter "$IN/agg-ab.ndjson" -- "--ab -f tcp"
compare stdin "- < $IN/edge.ndjson" -- "--ab -n $N"
compare missing "$IN/nope.ndjson" "$IN/edge.ndjson" -- "--ab"
# line boundaries: no final newline, blank lines only, empty, lines over 1 MiB (first, middle, last)
printf '%s\n%s' '{"bytes":5,"src_addr":"10.0.0.1"}' '{"bytes":7,"src_addr":"10.0.0.2"}' > "$IN/nonl.ndjson"
printf '\n \n\t\n' > "$IN/blank.ndjson"
: > "$IN/empty.ndjson"
node -e "
const fs = require('fs'); const l = '{\"bytes\":5,\"src_addr\":\"10.0.0.1\"}\n'; const big = '{\"x\":\"' + 'a'.repeat(1.5 * 1024 * 1024);
fs.writeFileSync('$IN/long.ndjson', l.repeat(3000) + big + '\"}\n' + l.repeat(3000));
fs.writeFileSync('$IN/longtail.ndjson', l.repeat(3000) + big);
fs.writeFileSync('$IN/longfirst.ndjson', big + '\"}\n' + l.repeat(10));
"
for f in nonl blank empty long longtail longfirst; do compare "lines-$f" "$IN/$f.ndjson" -- "-v -a src_host"; done
echo "$runs comparisons, $fail with differences"
[ $fail = 0 ]
