-- ClickHouse tables for flowmeter records on servers older than schema.sql needs (Debian's
-- clickhouse-server 18.16): no TTL, DateTime64, IPv6 type, LowCardinality, DEFAULT expressions
-- or SimpleAggregateFunction. Same table and column names, so load.sh and JSONEachRow work as
-- with schema.sql; a field a record lacks takes its type's default (0, '', []).
--   clickhouse-client --multiquery < schema-legacy.sql
-- Retention without TTL: drop old days by cron, e.g.
--   clickhouse-client --query "ALTER TABLE flowmeter.flows DROP PARTITION 20261101"

CREATE DATABASE IF NOT EXISTS flowmeter;

CREATE TABLE IF NOT EXISTS flowmeter.flows
(
    type                  String,
    time_received_ns      UInt64,
    sequence_num          UInt32,
    sampling_rate         UInt64,
    sampler_address       String,
    time_flow_start_ns    UInt64,
    time_flow_end_ns      UInt64,
    bytes                 UInt64,
    packets               UInt64,
    src_addr              String,
    dst_addr              String,
    etype                 String,
    proto                 String,
    src_port              UInt16,
    dst_port              UInt16,
    in_if                 UInt32,
    out_if                UInt32,
    src_mac               String,
    dst_mac               String,
    src_vlan              UInt16,
    dst_vlan              UInt16,
    vlan_id               UInt16,
    ip_tos                UInt8,
    forwarding_status     UInt8,
    ip_ttl                UInt8,
    ip_flags              UInt8,
    tcp_flags             UInt16,
    icmp_type             UInt8,
    icmp_code             UInt8,
    ipv6_flow_label       UInt32,
    fragment_id           UInt32,
    fragment_offset       UInt32,
    src_as                UInt32,
    dst_as                UInt32,
    next_hop              String,
    next_hop_as           UInt32,
    src_net               String,
    dst_net               String,
    bgp_next_hop          String,
    bgp_communities       Array(UInt32),
    as_path               Array(UInt32),
    mpls_label            Array(UInt32),
    observation_domain_id UInt32,
    observation_point_id  UInt64,
    flow_direction        UInt8,
    layer_size            UInt64,

    -- whole seconds (DateTime); the ns columns keep the rest
    time_start            DateTime MATERIALIZED toDateTime(intDiv(time_flow_start_ns, 1000000000)),
    time_received         DateTime MATERIALIZED toDateTime(intDiv(time_received_ns, 1000000000))
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time_received)
ORDER BY (sampler_address, time_received);

-- Aggregates: a plain MergeTree, rows never merged. Always query with sum()/min()/max() ...
-- GROUP BY (as the README's queries do); the totals are the same as with schema.sql.
CREATE TABLE IF NOT EXISTS flowmeter.aggregates
(
    aggregation String,  -- 'ab' or 'ba': load.sh sets it
    src_host    String,
    dst_host    String,
    src_net     String,
    dst_net     String,
    src_mask    UInt8,
    dst_mask    UInt8,
    packets     UInt64,
    bytes       UInt64,
    flows       UInt64,
    time_start  UInt32,
    time_end    UInt32
)
ENGINE = MergeTree
ORDER BY (aggregation, src_host, dst_host, src_net, src_mask, dst_net, dst_mask);
