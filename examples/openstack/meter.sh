#!/bin/bash
# meter.sh -- neutron-metering-agent's job done from flow exports: flows from the router's
# external side go through meter-label count, and each l3.meter sample (one NDJSON line per label
# per interval, oslo notification format) goes to SINK.
#
#   SINK=file:/var/log/flowmeter/l3.meter.ndjson        append to a file (default: stdout)
#   SINK=kafka:BROKER:PORT/TOPIC                       kcat -P (one message per sample)
#   SINK=amqp://USER@HOST:PORT/VHOST                   ceilometer's RabbitMQ: meter-label count --publish
#                                                      (oslo envelope, exchange neutron, notifications.info,
#                                                      publisher confirms, spool; METER_LABEL_AMQP_PASSWORD)
#   SINK=rabbitmq:EXCHANGE/ROUTING_KEY                 rabbitmqadmin publish, oslo envelope (no confirms)
#   SINK=http:URL                                      curl POST, one request per sample
#
#   meter.sh                              flow-capture -l '[::]:2055', 300 s samples, live
#   meter.sh -r router.pcap               replay a capture (intervals by flow time)
#
# Environment: METER_LABEL_DB (the label store, see labels.sh), INTERVAL (default 300),
# HOST (payload.host, default this host), RABBITMQADMIN_OPTS (e.g. "-H rabbit -u metering -p …";
# better a ~/.rabbitmqadmin.conf), CURL_OPTS.
set -euo pipefail
: "${SINK:=-}"
: "${INTERVAL:=300}"
: "${HOST:=$(hostname)}"
FC=${FLOW_CAPTURE:-flow-capture}
ML=${METER_LABEL:-meter-label}

if [ $# -eq 0 ]; then set -- -l '[::]:2055'; fi
live=
case " $* " in *" -l "*|*" --listen "*) live=--live ;; esac

forward() {
  case $SINK in
    -) cat ;;
    file:*) cat >>"${SINK#file:}" ;;
    kafka:*)
      dest=${SINK#kafka:}
      exec kcat -P -b "${dest%%/*}" -t "${dest#*/}" ;;
    rabbitmq:*)
      dest=${SINK#rabbitmq:}
      # What oslo.messaging puts on the wire for a notification (ceilometer's listener reads it):
      # {"oslo.version": "2.0", "oslo.message": "<the sample as a JSON string>"}
      while IFS= read -r line; do
        esc=$(printf '%s' "$line" | sed 's/\\/\\\\/g; s/"/\\"/g')
        # shellcheck disable=SC2086
        rabbitmqadmin ${RABBITMQADMIN_OPTS:-} publish exchange="${dest%%/*}" routing_key="${dest#*/}" \
          properties='{"content_type":"application/json"}' \
          payload="{\"oslo.version\": \"2.0\", \"oslo.message\": \"$esc\"}" >/dev/null
      done ;;
    http:*)
      while IFS= read -r line; do
        # shellcheck disable=SC2086
        printf '%s\n' "$line" | curl -sS --fail --retry 3 ${CURL_OPTS:-} \
          -H 'Content-Type: application/json' --data-binary @- "${SINK#http:}" >/dev/null
      done ;;
    *) echo "meter.sh: SINK must be -, file:PATH, kafka:BROKER/TOPIC, rabbitmq:EXCHANGE/KEY or http:URL" >&2; exit 64 ;;
  esac
}

case $SINK in
  amqp://*|amqps://*)
    # meter-label publishes itself; stdout shows the samples the broker confirmed
    # shellcheck disable=SC2086
    "$FC" "$@" | "$ML" count $live --report-interval "$INTERVAL" --host "$HOST" --publish "$SINK" ;;
  *)
    # shellcheck disable=SC2086
    "$FC" "$@" | "$ML" count $live --report-interval "$INTERVAL" --host "$HOST" | forward ;;
esac
