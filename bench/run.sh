#!/usr/bin/env bash
# `npm run bench`: every benchmark once, at sizes that finish in a few minutes on a 2-core box.
# Each script also runs alone with bigger sizes (see its header and bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/out
run() { printf '\n### %s\n' "$*"; "$@"; }
run node dist/bench/decode.js 1000000
run node dist/bench/read-capture.js --packets 500000
run bash bench/capture.sh 500000
run node dist/bench/lpm.js 100000
run node dist/bench/aggregate.js 200000
run node dist/bench/hydra-pipeline.js 200000
run node dist/bench/key-lookup.js 1000000
run node dist/bench/report.js 200000
run node dist/bench/meter-label-count.js 500000
run node dist/bench/billing-cycle.js 300000
run node dist/bench/fuzz.js 200000
run node dist/bench/fuzz-scan.js 100000
run node dist/bench/fuzz-capture.js --cases 10000
if command -v gcc >/dev/null && command -v taskset >/dev/null; then run node dist/bench/live-udp.js 5 100000 200000 300000; fi
