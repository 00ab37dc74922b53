# Shared by bench/capture-compare.sh and bench/report-compare.sh: builds a reference revision and
# this tree, runs one command of each over the same inputs, and diffs stdout, stderr, exit status
# and every file written, byte for byte. Sourced, not run.
#   ref_build REV   export REV (git archive, so no worktree is registered) into $OUT/ref and build
#                   it there with `npm run build`, node_modules linked from this tree
#   new_build       build this tree (skipped with NOBUILD=1, e.g. when it was just built)
#   compare LABEL CMD ARG...   run bin/CMD.js of both builds with the ARGs in a fresh directory
#                   (the current one, so relative outputs land there); OUTDIR in an ARG is that
#                   directory; STDIN=FILE feeds FILE on stdin
#   summary         print the counts; exit status 1 if any comparison differed
# Needs: ROOT (this tree), OUT (a scratch directory, emptied). ONLY=REGEX runs only the
# comparisons whose label and arguments match it (grep -E), e.g. to look at one difference again;
# REUSE_REF=1 keeps the reference built by the previous run in OUT (same REV).
# stderr is compared with paths and Node's "(node:PID)" warning prefix made alike.
set -u -o pipefail

fail=0
runs=0
IN=$OUT/in
REF=$OUT/ref
if [ "${REUSE_REF:-0}" = 1 ] && [ -d "$REF/dist" ]; then rm -rf "$IN" "$OUT/run"; else rm -rf "$OUT"; fi
mkdir -p "$IN"

ref_build() {
  local rev=$1
  [ "${REUSE_REF:-0}" = 1 ] && [ -d "$REF/dist" ] && return
  mkdir -p "$REF"
  git -C "$ROOT" archive "$rev" | tar -x -C "$REF" || { echo "cannot export $rev" >&2; exit 66; }
  ln -s "$ROOT/node_modules" "$REF/node_modules"
  (cd "$REF" && npm run build > "$OUT/ref-build.log" 2>&1) || { echo "building $rev failed: $OUT/ref-build.log" >&2; exit 70; }
}

new_build() {
  [ "${NOBUILD:-0}" = 1 ] && return
  (cd "$ROOT" && npm run build > "$OUT/new-build.log" 2>&1) || { echo "building the working tree failed: $OUT/new-build.log" >&2; exit 70; }
}

compare() {
  local label=$1 cmd=$2; shift 2
  local side bin d arg
  if [ -n "${ONLY:-}" ] && ! grep -qE -- "$ONLY" <<< "$label $cmd $*"; then return; fi
  for side in ref new; do
    bin=$REF; [ $side = new ] && bin=$ROOT
    d=$OUT/run/$side; rm -rf "$d"; mkdir -p "$d"
    local args=()
    for arg in "$@"; do args+=("${arg//OUTDIR/$d}"); done
    (cd "$d" && node "$bin/bin/$cmd.js" "${args[@]}" < "${STDIN:-/dev/null}" > "$d/.stdout" 2> "$d/.stderr"; echo $? > "$d/.status")
    sed -i "s#$d#OUTDIR#g; s#$REF#ROOT#g; s#$ROOT#ROOT#g; s#^(node:[0-9]*)#(node:PID)#" "$d/.stderr"
  done
  runs=$((runs + 1))
  if ! diff -r -q "$OUT/run/ref" "$OUT/run/new" > /dev/null; then
    fail=$((fail + 1))
    echo "DIFF: $label: $cmd $*${STDIN:+ < $STDIN}"
    diff -r "$OUT/run/ref" "$OUT/run/new" | head -20
  fi
}

summary() {
  echo "$runs comparisons, $fail with differences"
  [ $fail = 0 ]
}
