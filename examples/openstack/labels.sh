#!/bin/sh
# labels.sh -- the metering labels and rules of the Neutron admin guide's example, in meter-label:
# one label per tenant counting the traffic that crosses the router's external side, both ways,
# except traffic to the provider's own services (an excluded rule), plus a shared label for all
# tenants' traffic to a peering network.
#
#   METER_LABEL_DB=/var/lib/flowmeter/metering.json ./labels.sh
#
# Re-running it is harmless: a label that exists is kept with its rules (names are unique here).
# For labels taken from Neutron itself: openstack network meter list -f json, then
# `meter-label import` (see meter-label(1)).
set -eu
ML=${METER_LABEL:-meter-label}

label() {  # NAME DESCRIPTION PROJECT [--shared] -> prints the label id
  name=$1 desc=$2 project=$3; shift 3
  id=$($ML list -f value -c id -c name | awk -v n="$name" '$2 == n { print $1 }')
  if [ -z "$id" ]; then
    id=$($ML create "$name" --description "$desc" --tenant-id "$project" "$@" -f value -c id)
    echo "created label $name ($id)" >&2
  else
    echo "label $name exists ($id); rules kept" >&2
    return 0
  fi
  printf '%s\n' "$id"
}

# Tenant A: project 3e3c…, subnet 10.5.1.0/24 behind the router.
id=$(label tenant-a "Tenant A: external traffic" 3e3c3f2b7f0d4a4e9c1d5f8a0b6c7d21)
if [ -n "$id" ]; then
  $ML rule-create "$id" 10.5.1.0/24 --direction egress  -f value -c id >/dev/null
  $ML rule-create "$id" 10.5.1.0/24 --direction ingress -f value -c id >/dev/null
  # the provider's mirror and DNS are free: excluded wins over the label's other rules
  $ML rule-create "$id" --direction egress --excluded --source-ip-prefix 10.5.1.0/24 \
    --destination-ip-prefix 198.51.100.0/24 -f value -c id >/dev/null
fi

# Tenant B: project 9a1b…, subnet 10.5.2.0/24.
id=$(label tenant-b "Tenant B: external traffic" 9a1b2c3d4e5f46a7b8c9d0e1f2a3b4c5)
if [ -n "$id" ]; then
  $ML rule-create "$id" 10.5.2.0/24 --direction egress  -f value -c id >/dev/null
  $ML rule-create "$id" 10.5.2.0/24 --direction ingress -f value -c id >/dev/null
fi

# Shared by all projects: everything to and from the peering network 203.0.113.0/25.
id=$(label peering "Traffic with the peering partner" admin --shared)
if [ -n "$id" ]; then
  $ML rule-create "$id" --direction egress --destination-ip-prefix 203.0.113.0/25 -f value -c id >/dev/null
  $ML rule-create "$id" --direction ingress --source-ip-prefix 203.0.113.0/25 -f value -c id >/dev/null
fi

$ML list
