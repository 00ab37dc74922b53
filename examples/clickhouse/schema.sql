-- ClickHouse tables for flowmeter records (flowmeter-record(5)), loaded with its own client:
--   clickhouse-client --multiquery < schema.sql
--   flow-capture -r edge.pcap | clickhouse-client --query 'INSERT INTO flowmeter.flows FORMAT JSONEachRow'
-- Column names are the record keys, so JSONEachRow maps them one to one; fields a record does not
-- carry (the optional goflow2 fields) take the column default. Addresses are kept as the text the
-- records carry, with IPv6-typed materialized columns for range queries (IPv4 as ::ffff:a.b.c.d).

CREATE DATABASE IF NOT EXISTS flowmeter;

-- Flow records (flow-capture, or goflow2's JSON): one row per flow.
CREATE TABLE IF NOT EXISTS flowmeter.flows
(
    type                  LowCardinality(String),
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
    etype                 LowCardinality(String),
    proto                 LowCardinality(String),
    src_port              UInt16,
    dst_port              UInt16,
    in_if                 UInt32,
    out_if                UInt32,
    src_mac               String DEFAULT '',
    dst_mac               String DEFAULT '',
    src_vlan              UInt16 DEFAULT 0,
    dst_vlan              UInt16 DEFAULT 0,
    vlan_id               UInt16 DEFAULT 0,
    ip_tos                UInt8,
    forwarding_status     UInt8 DEFAULT 0,
    ip_ttl                UInt8 DEFAULT 0,
    ip_flags              UInt8 DEFAULT 0,
    tcp_flags             UInt16,
    icmp_type             UInt8 DEFAULT 0,
    icmp_code             UInt8 DEFAULT 0,
    ipv6_flow_label       UInt32 DEFAULT 0,
    fragment_id           UInt32 DEFAULT 0,
    fragment_offset       UInt32 DEFAULT 0,
    src_as                UInt32,
    dst_as                UInt32,
    next_hop              String,
    next_hop_as           UInt32 DEFAULT 0,
    src_net               String,
    dst_net               String,
    bgp_next_hop          String DEFAULT '',
    bgp_communities       Array(UInt32) DEFAULT [],
    as_path               Array(UInt32) DEFAULT [],
    mpls_label            Array(UInt32) DEFAULT [],
    observation_domain_id UInt32 DEFAULT 0,
    observation_point_id  UInt64 DEFAULT 0,
    flow_direction        UInt8 DEFAULT 0,
    layer_size            UInt64 DEFAULT 0,

    time_start            DateTime64(9, 'UTC') MATERIALIZED fromUnixTimestamp64Nano(toInt64(time_flow_start_ns)),
    time_received         DateTime64(9, 'UTC') MATERIALIZED fromUnixTimestamp64Nano(toInt64(time_received_ns)),
    src_ip                IPv6 MATERIALIZED toIPv6(src_addr),
    dst_ip                IPv6 MATERIALIZED toIPv6(dst_addr)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(time_received)
ORDER BY (sampler_address, time_received)
TTL toDateTime(time_received) + INTERVAL 35 DAY;

-- Aggregates of the billing aggregations (flow-aggregate --ab --ba, or the cycle's work files).
-- SummingMergeTree adds rows with the same key as flow-aggregate merges them: the numeric columns
-- summed, time_start and time_end by their SimpleAggregateFunction (earliest, latest). No column
-- list after SummingMergeTree: with one, ClickHouse keeps the first row's times instead.
-- Query with sum()/min()/max() ... GROUP BY: merging in the background is eventual.
CREATE TABLE IF NOT EXISTS flowmeter.aggregates
(
    aggregation LowCardinality(String) DEFAULT '',  -- 'ab' or 'ba': set it in the INSERT query
    src_host    String DEFAULT '',
    dst_host    String DEFAULT '',
    src_net     String DEFAULT '',
    dst_net     String DEFAULT '',
    src_mask    UInt8 DEFAULT 0,
    dst_mask    UInt8 DEFAULT 0,
    packets     UInt64,
    bytes       UInt64,
    flows       UInt64,
    time_start  SimpleAggregateFunction(min, UInt32),
    time_end    SimpleAggregateFunction(max, UInt32)
)
ENGINE = SummingMergeTree
ORDER BY (aggregation, src_host, dst_host, src_net, src_mask, dst_net, dst_mask);
