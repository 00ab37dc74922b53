#!/usr/bin/env bash
# Regenerate the sFlow v5 fixtures in test/fixtures/ from a real exporter (needs root for tcpdump
# on lo, and the Debian packages pmacct, tcpdump, python3, curl).
#
# 1. Record some real traffic on lo (HTTP over IPv4 and IPv6, UDP to a closed port, which also
#    makes the kernel send ICMP/ICMPv6 port-unreachable) into sflow-source-traffic.pcap.
# 2. Let pmacctd's sfprobe plugin read that capture (pcap_savefile) and export sFlow v5 to a local
#    port; capture the export datagrams with tcpdump:
#      sflow-v4.pcap  IPv4 agent 192.0.2.10, sub-agent 7, sampling 1/1, sent to 127.0.0.1
#      sflow-v6.pcap  IPv6 agent 2001:db8::10, sub-agent 3, sampling 1/1, sent to ::1
set -euo pipefail
out=$(cd "$(dirname "$0")/../test/fixtures" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

capture() { # file filter -> starts tcpdump, waits until it is listening
  tcpdump -Z root --immediate-mode -i lo -U -w "$1" "$2" 2>"$1.log" &
  echo $! >"$1.pid"
  for _ in $(seq 50); do grep -q 'listening on' "$1.log" && return 0; sleep 0.1; done
  echo "tcpdump did not start" >&2; exit 1
}
stop() { sleep 1; kill "$(cat "$1.pid")"; wait "$(cat "$1.pid")" 2>/dev/null || true; }

capture traffic.pcap 'tcp port 18080 or udp port 18081 or icmp or icmp6'
python3 -m http.server 18080 --bind :: >/dev/null 2>&1 & http=$!
sleep 1
for _ in 1 2 3; do
  curl -s -o /dev/null http://127.0.0.1:18080/
  curl -s -o /dev/null 'http://[::1]:18080/'
done
python3 - <<'PY'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(20): s.sendto(b'x' * (50 + i * 20), ('127.0.0.1', 18081))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
for i in range(10): s6.sendto(b'y' * (100 + i), ('::1', 18081))
PY
kill "$http"
stop traffic.pcap

export_sflow() { # name receiver-host filter agentip subid
  cat >"$1.conf" <<CONF
daemonize: false
pcap_savefile: $work/traffic.pcap
plugins: sfprobe
sfprobe_receiver: $2:16343
sfprobe_agentip: $4
sfprobe_agentsubid: $5
sampling_rate: 1
CONF
  capture "$1.pcap" "$3"
  timeout 30 pmacctd -f "$1.conf" >"$1.pmacctd.log" 2>&1 || true
  stop "$1.pcap"
}
export_sflow sflow-v4 127.0.0.1 'ip and udp port 16343' 192.0.2.10 7
export_sflow sflow-v6 '[::1]' 'ip6 and udp port 16343' 2001:db8::10 3

cp traffic.pcap "$out/sflow-source-traffic.pcap"
cp sflow-v4.pcap sflow-v6.pcap "$out/"
for f in sflow-v4 sflow-v6; do
  echo "$f.pcap: $(tcpdump -r "$out/$f.pcap" 2>/dev/null | wc -l) datagrams"
done
