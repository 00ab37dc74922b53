#!/bin/sh
# billing-cycle.sh -- bill each closed flow-capture file exactly once (run it from cron).
#
# For every closed rotated file flows.*.ndjson[.gz] that flow-capture -w DIR --rotate 300 wrote
# and that was not billed yet, oldest first:
#   flow-aggregate --ab --ba -n NETWORKS      -> WORK/agg-ab.ndjson, WORK/agg-ba.ndjson
#   flow-report --format hydra --split        -> WORK/report/NAME-ab, WORK/report/NAME-ba
#   hcd-putfile --spool --state (per file)    -> hcd (or the spool when hcd is down)
# after a first hcd-putfile --flush-spool. The whole run holds a lock (exit 75 when held).
# Then flow-report --reconcile checks the last RECONCILE_FILES billed capture files against what
# hcd accepted (the ledger) and what waits for it (the spool): its total goes to stderr, and a
# difference (bytes in the flows that the bills lack, or hold twice) names its intervals there
# and makes the run exit 1. With METRICS_DIR, every stage leaves its run's counters in
# METRICS_DIR/billing-cycle-STAGE.prom (flush, aggregate, report, upload-ab, upload-ba,
# reconcile: --metrics-file, for node_exporter's textfile collector and
# examples/prometheus/flowmeter.rules.yml), and the run its exit status in billing-cycle.prom.
#
# Exactly once: each step writes its outputs atomically and then a marker in the file's work
# directory (STATE_DIR/work/FILE/.STEP, created under a temporary name and renamed), the finished
# file gets STATE_DIR/done/FILE. A run killed at any point starts again at the first step without
# a marker. Every step is deterministic (the same capture file gives byte-identical billing
# files), so a step redone after a crash produces what it produced before, and hcd-putfile's
# ledger (--state) recognises an upload hcd already accepted and does not send it again.
#
# An upload in doubt (hcd got it whole, its answer could not be read: it may have billed it) holds
# its statistics name: the later files' uploads of that name wait (their capture files stay
# unbilled, done in order once it is settled), other names go on, and the run says so on stderr
# and exits 75 until the operator has looked in Hydra and run hcd-putfile --mark-delivered NAME or
# --resend-in-doubt NAME (README.md, "In doubt").
#
# Usage: billing-cycle.sh [CONFIG]   (default $BILLING_CONFIG, else /etc/flowmeter/billing.conf)
# Exit: 0 all billed and delivered; 1 the reconciliation found a difference (named on stderr);
# 75 another run holds the lock, files wait in the hcd spool (hcd unreachable: they go out with
# the next run), or an upload is in doubt (the operator settles it); 78 bad configuration;
# otherwise the exit status of the step that failed (its file is retried by the next run). See
# README.md.
set -eu

PROG=billing-cycle
say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { code=$1; shift; say "$*"; exit "$code"; }

CONFIG=${1:-${BILLING_CONFIG:-/etc/flowmeter/billing.conf}}
if [ -e "$CONFIG" ] || [ $# -gt 0 ] || [ -n "${BILLING_CONFIG:-}" ]; then
  [ -r "$CONFIG" ] || die 78 "$CONFIG: cannot read the configuration"
  case $CONFIG in */*) ;; *) CONFIG=./$CONFIG ;; esac  # "." searches PATH for a bare name
  # shellcheck disable=SC1090
  . "$CONFIG"
fi

# Defaults (see billing.conf.example for what each means).
: "${CAPTURE_DIR:=/var/lib/flowmeter/spool}"
: "${STATE_DIR:=/var/lib/flowmeter/billing}"
: "${NETWORKS:=}"
: "${SUBSCRIBERS:=}"
: "${STAT_NAME:=agg}"
: "${GOOD_ID:=}"
: "${GOOD_MAP:=}"
: "${OBJECT_MAP:=}"
: "${HCD_URL:=}"
: "${HCD_PASSWORD_FILE:=}"
: "${HCD_OPTS:=}"
: "${HCD_SPOOL:=$STATE_DIR/hcd-spool}"
: "${HCD_LEDGER:=$STATE_DIR/hcd-ledger.json}"
: "${AFTER:=keep}"
: "${MAX_FILES:=0}"
: "${FLOWMETER_BIN:=}"
: "${METRICS_DIR:=}"
: "${RECONCILE_FILES:=12}"
: "${BILLING_CYCLE_CRASH_AFTER:=}"

[ -n "$HCD_URL" ] || die 78 "HCD_URL is not set (in $CONFIG or the environment)"
[ -d "$CAPTURE_DIR" ] || die 66 "CAPTURE_DIR $CAPTURE_DIR: no such directory"
case $AFTER in keep|delete) ;; *) die 78 "AFTER must be keep or delete (got \"$AFTER\")" ;; esac
case $MAX_FILES in ''|*[!0-9]*) die 78 "MAX_FILES must be a number (got \"$MAX_FILES\")" ;; esac
case $RECONCILE_FILES in ''|*[!0-9]*) die 78 "RECONCILE_FILES must be a number (got \"$RECONCILE_FILES\")" ;; esac
[ -z "$METRICS_DIR" ] || [ -d "$METRICS_DIR" ] || die 78 "METRICS_DIR $METRICS_DIR: no such directory"

# The run's own exit status, duration and end time, as each stage's --metrics-file has them, in
# METRICS_DIR/billing-cycle.prom: written (atomically) whenever the run ends, even with nothing
# to bill, so that it tells the cycle runs and how it ended.
started=$(date +%s)
cycle_metrics() {
  [ -n "$METRICS_DIR" ] || return 0
  now=$(date +%s)
  labels='command="billing-cycle",run="billing-cycle"'
  prom=$METRICS_DIR/billing-cycle.prom
  printf '%s\n' \
    '# HELP flowmeter_run_exit_status Exit status of the run (0 success; sysexits otherwise)' \
    '# TYPE flowmeter_run_exit_status gauge' "flowmeter_run_exit_status{$labels} $1" \
    '# HELP flowmeter_run_duration_seconds Wall time of the run' \
    '# TYPE flowmeter_run_duration_seconds gauge' "flowmeter_run_duration_seconds{$labels} $((now - started))" \
    '# HELP flowmeter_run_last_timestamp_seconds When the run ended, Unix time' \
    '# TYPE flowmeter_run_last_timestamp_seconds gauge' "flowmeter_run_last_timestamp_seconds{$labels} $now" \
    >"$prom.tmp.$$" && mv -f "$prom.tmp.$$" "$prom" || say "cannot write $prom"
}
trap 'cycle_metrics $?' EXIT
export HCD_URL
[ -z "${HCD_PASSWORD:-}" ] || export HCD_PASSWORD  # also when the configuration sets it

bin() { if [ -n "$FLOWMETER_BIN" ]; then printf '%s/%s' "$FLOWMETER_BIN" "$1"; else printf '%s' "$1"; fi; }
FLOW_AGGREGATE=$(bin flow-aggregate)
FLOW_REPORT=$(bin flow-report)
HCD_PUTFILE=$(bin hcd-putfile)

umask 077
mkdir -p "$STATE_DIR/work" "$STATE_DIR/done" "$HCD_SPOOL"

# One run at a time. flock(1) (util-linux) holds the lock on a descriptor that the kernel
# releases when the run dies, even by kill -9: no stale lock to clean up.
exec 9>>"$STATE_DIR/billing-cycle.lock"
if ! flock -n 9; then
  say "another run holds $STATE_DIR/billing-cycle.lock; try again later"
  exit 75
fi

# Test hook: BILLING_CYCLE_CRASH_AFTER=STEP kills this run with SIGKILL right after STEP, to show
# that a crash there neither loses nor repeats a file (test/e2e/billing-cycle.test.ts).
crash_point() {
  if [ "$BILLING_CYCLE_CRASH_AFTER" = "$1" ]; then
    say "test hook: kill -9 after $1"
    kill -9 $$
  fi
}

# An empty marker file, created atomically (temporary name, rename). bill_one runs in an "||"
# context, where set -e does not apply: failures there stop the run explicitly.
mark() {
  { : >"$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"; } || die 73 "cannot write the marker $1"
}

# Runs a stage's command ("$@"), with METRICS_DIR its --metrics-file METRICS_DIR/billing-cycle-$1.prom
# (the file's name is the samples' run label).
stage() {
  stage_name=$1; shift
  if [ -n "$METRICS_DIR" ]; then "$@" --metrics-file "$METRICS_DIR/billing-cycle-$stage_name.prom"; else "$@"; fi
}

# Runs flow-report ("$@") with the cycle's billing line options: the statistics name, EXT_GOOD_ID
# and EXT_OBJECT_ID. The report step and the reconciliation (which makes the billing files again
# to find them in the ledger) must pass the same.
with_hydra_options() {
  if [ -n "$GOOD_MAP" ] && [ -n "$OBJECT_MAP" ]; then
    "$@" --name "$STAT_NAME" --good-map "$GOOD_MAP" --object-map "$OBJECT_MAP"
  elif [ -n "$GOOD_MAP" ]; then
    "$@" --name "$STAT_NAME" --good-map "$GOOD_MAP"
  elif [ -n "$GOOD_ID" ]; then
    "$@" --name "$STAT_NAME" --good-id "$GOOD_ID"
  else
    "$@" --name "$STAT_NAME"
  fi
}

# The hcd-putfile options every call shares; HCD_OPTS is split into words on purpose.
set -- --state "$HCD_LEDGER"
[ -z "$HCD_PASSWORD_FILE" ] || set -- "$@" --password-file "$HCD_PASSWORD_FILE"
# shellcheck disable=SC2086
set -- "$@" $HCD_OPTS

status=0  # the exit status of this run, unless a step fails

# The uploads in doubt, as hcd-putfile --in-doubt lists them (name, file, sha256, bytes, when,
# why; tab-separated after a header), each told once on stderr: never hidden, whatever -q.
doubt=$STATE_DIR/.doubt.$$
told=" "
read_doubts() {
  "$HCD_PUTFILE" "$@" --spool "$HCD_SPOOL" --in-doubt >"$doubt" || die $? "hcd-putfile --in-doubt failed: cannot tell which uploads are in doubt"
  tab=$(printf '\t')
  while IFS=$tab read -r d_name d_file d_sha d_bytes d_when d_why; do
    [ "$d_name" != name ] || continue
    case $told in *" $d_name "*) continue ;; esac
    told="$told$d_name "
    say "in doubt: $d_name: $d_file ($d_bytes bytes, sha256 $d_sha) sent at $d_when: $d_why; hcd may have billed it, so later $d_name uploads wait. Look in Hydra for statistics \"$d_name\" uploaded at $d_when, then: hcd-putfile --state $HCD_LEDGER --flush-spool $HCD_SPOOL --mark-delivered $d_name (Hydra has it) or --resend-in-doubt $d_name (it does not)"
  done <"$doubt"
}
in_doubt() {  # $1 = statistics name
  awk -F'\t' -v n="$1" 'NR > 1 && $1 == n { found = 1 } END { exit !found }' "$doubt"
}
held=0    # capture files waiting for an upload in doubt

# 1. What earlier runs (or pipelines) left in the spool goes first, oldest first.
rc=0
stage flush "$HCD_PUTFILE" "$@" --flush-spool "$HCD_SPOOL" || rc=$?
case $rc in
  0) ;;
  75) say "hcd-putfile --flush-spool exited 75 (hcd unreachable or busy, or an upload in doubt): what could not be sent stays in the spool" ;;
  69|76|77) say "hcd-putfile --flush-spool exited $rc: new files are still billed and spooled"; status=$rc ;;
  *) die "$rc" "hcd-putfile --flush-spool exited $rc: stopping (nothing billed by this run)" ;;
esac
rm -f "$STATE_DIR"/.todo.* "$STATE_DIR"/.doubt.* "$STATE_DIR"/.reconcile.*  # left by a killed run
list=$STATE_DIR/.todo.$$
reconciled=$STATE_DIR/.reconcile.$$
trap 'rc=$?; rm -f "$list" "$doubt" "$reconciled"; cycle_metrics $rc' EXIT
crash_point flush
read_doubts "$@"

# The aggregations: "ab" outgoing (src_host,dst_net,dst_mask), "ba" incoming
# (src_net,src_mask,dst_host). With SUBSCRIBERS, ab only takes flows from them and ba only flows
# to them, as Hydra's nfacctd.conf does with aggregate_filter. The generated pmacct-style file
# names both aggregations itself: --ab/--ba on the command line would replace them, filters and
# all (flow-aggregate(1): options win over the file).
AGG_CONF=
if [ -n "$SUBSCRIBERS" ]; then
  src= dst=
  for n in $SUBSCRIBERS; do
    src="${src:+$src or }src net $n"
    dst="${dst:+$dst or }dst net $n"
  done
  AGG_CONF=$STATE_DIR/aggregate.conf
  printf '%s\n' "# written by billing-cycle.sh from SUBSCRIBERS=\"$SUBSCRIBERS\"" \
    "aggregate[ab]: src_host,dst_net,dst_mask" "aggregate_filter[ab]: $src" \
    "aggregate[ba]: src_net,src_mask,dst_host" "aggregate_filter[ba]: $dst" >"$AGG_CONF.tmp.$$"
  mv -f "$AGG_CONF.tmp.$$" "$AGG_CONF"
fi

# The aggregate step: agg-ab and agg-ba of capture file $1 into work directory $2.
aggregate_file() {
  if [ -n "$AGG_CONF" ]; then set -- "$1" "$2" -c "$AGG_CONF"; else set -- "$1" "$2" --ab --ba; fi
  [ -z "$NETWORKS" ] || set -- "$@" -n "$NETWORKS"
  agg_file=$1 agg_work=$2; shift 2
  stage aggregate "$FLOW_AGGREGATE" -q "$@" -o ab="$agg_work/agg-ab.ndjson" -o ba="$agg_work/agg-ba.ndjson" "$CAPTURE_DIR/$agg_file"
}

bill_one() {  # $1 = capture file name (in CAPTURE_DIR); "$@" after it = hcd-putfile options
  f=$1; shift
  w=$STATE_DIR/work/$f
  mkdir -p "$w" || die 73 "cannot create $w"

  if [ ! -e "$w/.aggregated" ]; then
    agg_rc=0
    aggregate_file "$f" "$w" || agg_rc=$?
    [ "$agg_rc" -eq 0 ] || { say "$f: flow-aggregate exited $agg_rc; the file is retried by the next run"; return "$agg_rc"; }
    crash_point aggregate
    mark "$w/.aggregated"
    crash_point aggregate-mark
  fi

  if [ ! -e "$w/.reported" ]; then
    mkdir -p "$w/report" || die 73 "cannot create $w/report"
    rep_rc=0
    stage report with_hydra_options "$FLOW_REPORT" -q --format hydra --split "$w/report" "$w/agg-ab.ndjson" "$w/agg-ba.ndjson" || rep_rc=$?
    [ "$rep_rc" -eq 0 ] || { say "$f: flow-report exited $rep_rc; the file is retried by the next run"; return "$rep_rc"; }
    crash_point report
    mark "$w/.reported"
    crash_point report-mark
  fi

  waits=
  for dir in ab ba; do
    [ ! -e "$w/.sent-$dir" ] || continue
    # an earlier upload of this name in doubt: this one waits (hcd gets a name's files in order)
    if in_doubt "$STAT_NAME-$dir"; then waits="$waits $STAT_NAME-$dir"; continue; fi
    put_rc=0
    # not -q: a retry after a lost answer, or a doubt, must show in the cycle's log
    stage "upload-$dir" "$HCD_PUTFILE" "$@" --spool "$HCD_SPOOL" -f "$w/report/$STAT_NAME-$dir" "$STAT_NAME-$dir" || put_rc=$?
    case $put_rc in
      0) ;;
      75)
        # hcd down or busy: the file is in the spool, sent by the next flush; or it is in doubt
        read_doubts "$@"
        if in_doubt "$STAT_NAME-$dir"; then waits="$waits $STAT_NAME-$dir"; continue; fi
        ;;
      *) say "$f: hcd-putfile $STAT_NAME-$dir exited $put_rc; the file is retried by the next run"; return "$put_rc" ;;
    esac
    crash_point "upload-$dir"
    mark "$w/.sent-$dir"
    crash_point "upload-$dir-mark"
  done
  if [ -n "$waits" ]; then
    say "$f: not billed yet: waits for the upload in doubt of$waits"
    held=$((held + 1))
    return 0
  fi

  mark "$STATE_DIR/done/$f"
  crash_point done-mark
  rm -rf -- "$w" || die 74 "cannot remove $w"
  crash_point cleanup
  return 0
}

# 2. The closed capture files not billed yet, oldest first (names sort by time; flow-capture
# writes the open file under a hidden temporary name, so every flows.* file is complete). Names
# are in UTC (flows.YYYYMMDDhhmmZ), local with the UTC offset (--local-time), or older local ones.
(cd "$CAPTURE_DIR" && ls -1A) | LC_ALL=C grep -E '^flows\.[0-9]{12}([0-9]{2})?(Z|[+-][0-9]{4})?(\.r[0-9]+)?\.ndjson(\.gz)?$' | LC_ALL=C sort >"$list" || true

# A run killed between the done marker and the clean-up left the work directory behind.
for w in "$STATE_DIR"/work/flows.*; do
  [ -e "$w" ] || continue
  [ ! -e "$STATE_DIR/done/${w##*/}" ] || rm -rf -- "$w"
done

count=0
while IFS= read -r f; do
  [ ! -e "$STATE_DIR/done/$f" ] || continue
  if [ "$MAX_FILES" -gt 0 ] && [ "$count" -ge "$MAX_FILES" ]; then break; fi
  rc=0
  was_held=$held
  bill_one "$f" "$@" || rc=$?
  [ "$rc" -eq 0 ] || exit "$rc"
  [ "$held" -ne "$was_held" ] || count=$((count + 1))
done <"$list"

# 3. The reconciliation: did the bills take every byte of the last RECONCILE_FILES billed capture
# files? flow-report --reconcile makes their billing files again with the cycle's settings and
# looks them up in the ledger (sent) and the spool (waiting: not yet billed). Sets differs=1 when
# flows and bills disagree, and the run's status when it could not tell.
differs=0
reconcile() {
  set -- --reconcile --format csv --ledger "$HCD_LEDGER" --spool "$HCD_SPOOL"
  [ -z "$NETWORKS" ] || set -- "$@" -n "$NETWORKS"
  [ -z "$SUBSCRIBERS" ] || set -- "$@" --subscribers "$SUBSCRIBERS"
  n=0
  for f in $(while IFS= read -r f; do
               [ -e "$STATE_DIR/done/$f" ] && [ -e "$CAPTURE_DIR/$f" ] && printf '%s\n' "$f"
             done <"$list" | tail -n "$RECONCILE_FILES"); do
    set -- "$@" "$CAPTURE_DIR/$f"
    n=$((n + 1))
  done
  [ "$n" -gt 0 ] || return 0
  rec_rc=0
  stage reconcile with_hydra_options "$FLOW_REPORT" "$@" >"$reconciled" || rec_rc=$?
  case $rec_rc in 0|1) ;; *) say "flow-report --reconcile exited $rec_rc: the bills of the last $n billed file(s) were not checked"; [ "$status" -ne 0 ] && [ "$status" -ne 75 ] || status=$rec_rc; return 0 ;; esac
  # The total, and each interval whose bills disagree with its flows, from the csv by column name.
  awk -F';' -v prog="$PROG" -v n="$n" -v rc="$rec_rc" '
    NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["difference"] != "0" && $c["interval"] != "total" {
      printf "%s: reconciliation: interval %s (%s file(s)): %s: difference %s bytes (ab %s, ba %s) between the flows and the bills\n", prog, $c["interval"], $c["files"], $c["status"], $c["difference"], $c["difference_ab"], $c["difference_ba"]
    }
    $c["interval"] == "total" {
      printf "%s: reconciled the last %s billed file(s): flows %s bytes, billed ab %s ba %s (both ways %s), no subscriber %s, not yet billed %s, difference %s\n", prog, n, $c["flows"], $c["billed_ab"], $c["billed_ba"], $c["twice"], $c["no_subscriber"], $c["not_yet_billed"], $c["difference"]
      total = $c["difference"]
    }
    END { exit (rc == 1) != (total != "" && total != "0") }' "$reconciled" >&2 || {
    say "flow-report --reconcile exited $rec_rc, but its output does not say so: the bills were not checked"
    [ "$status" -ne 0 ] && [ "$status" -ne 75 ] || status=70
    return 0
  }
  [ "$rec_rc" -eq 0 ] || differs=1
}
[ "$RECONCILE_FILES" -eq 0 ] || reconcile

# With AFTER=delete, billed capture files go once reconciled (a run killed before leaves them to
# the next one); when the bills disagree with the flows, they stay for the operator to look at.
if [ "$AFTER" = delete ] && [ "$differs" -eq 0 ]; then
  for d in "$STATE_DIR"/done/flows.*; do
    [ -e "$d" ] || continue
    rm -f -- "$CAPTURE_DIR/${d##*/}" || die 74 "cannot remove $CAPTURE_DIR/${d##*/}"
  done
fi

# Done markers of capture files that are gone (AFTER=delete, or removed by the operator) are no
# longer needed: such a file cannot come back to be billed again.
for d in "$STATE_DIR"/done/flows.*; do
  [ -e "$d" ] || continue
  [ -e "$CAPTURE_DIR/${d##*/}" ] || rm -f -- "$d"
done

left=0
for s in "$HCD_SPOOL"/*.hcd; do [ -e "$s" ] && left=$((left + 1)); done
[ "$count" -eq 0 ] || say "billed $count file(s)"
if [ "$held" -gt 0 ] || [ "$told" != " " ]; then
  say "uploads in doubt:$told- $held file(s) wait for them; see hcd-putfile --state $HCD_LEDGER --in-doubt"
  [ "$status" -ne 0 ] || status=75
fi
if [ "$status" -eq 0 ] && [ "$left" -gt 0 ]; then
  say "$left file(s) wait in $HCD_SPOOL for hcd; the next run sends them"
  status=75
fi
if [ "$differs" -ne 0 ]; then
  say "the bills disagree with the flows (above): find the upload that is missing or twice (README.md, \"Metrics and reconciliation\"); this run exits 1"
  [ "$status" -ne 0 ] && [ "$status" -ne 75 ] || status=1
fi
exit "$status"
