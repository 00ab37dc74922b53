#!/usr/bin/env bash
# Print a PATH that holds Node and Debian's required packages (the base of every Debian system:
# coreutils, a shell, grep, sed, awk, gzip, util-linux, …) and none of the test peers (tshark,
# nfdump, pmacct, python3, chromium, …): `npm test` under it shows what a machine with only Node
# runs and skips.
set -euo pipefail
dir=${1:-$(mktemp -d)}
mkdir -p "$dir"
for pkg in bash bsdutils coreutils dash debianutils diffutils dpkg findutils grep gzip hostname libc-bin login \
  mawk mount ncurses-bin passwd perl-base sed sysvinit-utils tar util-linux; do
  dpkg -L "$pkg" 2>/dev/null || true
done | grep -E '^(/usr)?/s?bin/[^/]+$' | sort -u | while read -r f; do
  [ -f "$f" ] && [ -x "$f" ] && ln -sf "$f" "$dir/${f##*/}"
done
[ -e "$dir/mawk" ] && ln -sf "$dir/mawk" "$dir/awk" # awk is an alternatives link, not in dpkg -L
ln -sf "$(command -v node)" "$dir/node"
echo "$dir"
