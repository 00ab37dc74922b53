#!/usr/bin/env bash
# Regenerate the NetFlow fixtures used by the live-collector tests: softflowd (a real exporter)
# reads test/fixtures/sflow-source-traffic.pcap and exports NetFlow v5, v9 and IPFIX to a local
# port; tcpdump captures the export datagrams (needs root, softflowd, tcpdump).
#   live-v5.pcap, live-v9.pcap, live-ipfix.pcap
set -euo pipefail
fx=$(cd "$(dirname "$0")/../test/fixtures" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for v in 5 9 10; do
  name=$([ "$v" = 10 ] && echo ipfix || echo "v$v")
  tcpdump -Z root --immediate-mode -i lo -U -w "$name.pcap" 'udp port 12055' 2>"$name.log" & td=$!
  for _ in $(seq 50); do grep -q 'listening on' "$name.log" && break; sleep 0.1; done
  softflowd -r "$fx/sflow-source-traffic.pcap" -n 127.0.0.1:12055 -v "$v" -d >/dev/null 2>&1 || true
  sleep 1; kill "$td"; wait "$td" 2>/dev/null || true
  cp "$name.pcap" "$fx/live-$name.pcap"
  echo "live-$name.pcap: $(tcpdump -r "$fx/live-$name.pcap" 2>/dev/null | wc -l) datagrams"
done
