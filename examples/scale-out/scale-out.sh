#!/bin/bash
# scale-out.sh -- several collectors each aggregating locally, their aggregates merged centrally,
# shown on the captures shipped in examples/ (each capture plays one collector site), and checked:
# the merged total equals one aggregation over all the flows at once, byte for byte.
#
# At each site (cron, every 5 minutes, on the site's closed capture file):
#   flow-aggregate --ab --ba -n networks.lst -o ab=site.ab.ndjson -o ba=site.ba.ndjson flows.….ndjson.gz
#   then ship site.*.ndjson to the centre (rsync, scp, an object store, Kafka).
# At the centre:
#   cat */site.ab.ndjson | flow-aggregate --ab > total.ab.ndjson     (aggregates merge exactly)
#
# Usage: examples/scale-out/scale-out.sh [OUTDIR]   (default: a temporary directory, removed)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${FLOWMETER_BIN:-$here/../bin}
run() { local c=$1; shift; if [ -x "$bin/$c.js" ]; then "$bin/$c.js" "$@"; else "$bin/$c" "$@"; fi; }
if [ $# -gt 0 ]; then out=$1; mkdir -p "$out"; else out=$(mktemp -d); trap 'rm -rf "$out"' EXIT; fi
nets=$here/networks.lst

# 1. Three sites, three collectors: each decodes its own exporters and aggregates locally.
for site in v5 v9 ipfix; do
  mkdir -p "$out/$site"
  run flow-capture -r "$here/softflowd-$site.pcap" -o "$out/$site/flows.ndjson"
  run flow-aggregate --ab --ba -n "$nets" \
    -o ab="$out/$site/site.ab.ndjson" -o ba="$out/$site/site.ba.ndjson" "$out/$site/flows.ndjson"
  echo "site $site: $(wc -l <"$out/$site/flows.ndjson") flows -> $(wc -l <"$out/$site/site.ab.ndjson") ab + $(wc -l <"$out/$site/site.ba.ndjson") ba aggregates"
done

# 2. The centre merges the sites' aggregates (no flows travel).
cat "$out"/*/site.ab.ndjson | run flow-aggregate --ab -o "$out/total.ab.ndjson"
cat "$out"/*/site.ba.ndjson | run flow-aggregate --ba -o "$out/total.ba.ndjson"

# 3. Check: the same as aggregating every flow in one place.
cat "$out"/*/flows.ndjson | run flow-aggregate --ab --ba -n "$nets" \
  -o ab="$out/direct.ab.ndjson" -o ba="$out/direct.ba.ndjson"
cmp "$out/total.ab.ndjson" "$out/direct.ab.ndjson"
cmp "$out/total.ba.ndjson" "$out/direct.ba.ndjson"
echo "merged: $(wc -l <"$out/total.ab.ndjson") ab + $(wc -l <"$out/total.ba.ndjson") ba aggregates, identical to one aggregation over all flows"
run flow-report --format pmacct --sort bytes --top 5 "$out/total.ab.ndjson"
