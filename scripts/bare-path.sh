#!/usr/bin/env bash
# Print a PATH that holds Node and a base Debian system (coreutils, a shell, grep, sed, gzip,
# util-linux, …) and none of the test peers (tshark, nfdump, pmacct, python3, chromium, …):
# `npm test` under it shows what a machine with only Node runs and skips.
set -euo pipefail
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
for pkg in coreutils bash dash grep sed gzip findutils util-linux mount diffutils tar debianutils procps; do
  dpkg -L "$pkg" 2>/dev/null || true
done | grep -E '^(/usr)?/s?bin/[^/]+$' | sort -u | while read -r f; do
  [ -f "$f" ] && [ -x "$f" ] && ln -sf "$f" "$dir/${f##*/}"
done
ln -sf "$(command -v node)" "$dir/node"
echo "$dir"
