#!/bin/bash
# load.sh FILE... -- load flowmeter NDJSON files into ClickHouse with clickhouse-client.
#   flows.*.ndjson[.gz] (flow-capture)      -> flowmeter.flows
#   *ab*.ndjson / *ba*.ndjson (aggregates)  -> flowmeter.aggregates, aggregation 'ab' / 'ba'
# As flow-capture's --exec hook, every closed file goes in as it is written:
#   flow-capture -l '[::]:2055' -w /var/lib/flowmeter/spool --rotate 300 --exec '/usr/local/bin/load.sh %f'
# Connection settings: CLICKHOUSE_OPTS="--host ch1 --user flowmeter --password-file …" or
# ~/.clickhouse-client/config.xml.
set -euo pipefail
for f in "$@"; do
  case ${f##*/} in
    flows.*) table=flowmeter.flows; set_agg= ;;
    *ab*.ndjson|agg-ab*) table=flowmeter.aggregates; set_agg=ab ;;
    *ba*.ndjson|agg-ba*) table=flowmeter.aggregates; set_agg=ba ;;
    *) echo "load.sh: $f: not a flows.* or ab/ba aggregate file" >&2; exit 64 ;;
  esac
  if [ -n "$set_agg" ]; then
    # every line gets "aggregation":"ab" (the records themselves do not say which aggregation)
    sed "s/^{/{\"aggregation\":\"$set_agg\",/" "$f"
  else
    gzip -dcf -- "$f"
  fi | clickhouse-client ${CLICKHOUSE_OPTS:-} --input_format_skip_unknown_fields=1 \
         --query "INSERT INTO $table FORMAT JSONEachRow"
done
