-- Rows versioned by their event set, observations stored next to their trace.
--
-- 1. ``row_version`` replaces ``event_ts`` as the ReplacingMergeTree version of traces and
--    observations: (newest event time in ms) << 20 | (number of events merged into the row).
--    A row rebuilt from a superset of events always outranks one built from a subset, also when
--    the extra events are older: two workers racing on one entity can no longer leave the
--    partial row standing on a version tie. Rows written before this migration get count 0.
-- 2. Observations are sorted by (project_id, trace_id, id): a trace's observations share a
--    granule or two instead of lying one per granule across the table, so reading a trace and
--    its page aggregates touch a few hundred KB instead of tens of MB. An observation whose
--    trace id changes (an update seen before its create) leaves a tombstone under the old key,
--    written by the worker. Lookups by id alone use the ``idx_id`` bloom filter.
-- 3. Smaller granules: traces and observations carry KB-sized input and output, so a point read
--    decompresses one granule of at most 256 KiB instead of ~10 MiB; scores are small rows, so
--    they get 1024-row granules instead of 8192 (a trace's scores are read by id).
--
-- The tables are rebuilt by copy and swapped atomically with EXCHANGE TABLES.

CREATE TABLE IF NOT EXISTS traces_0002
(
    id String,
    project_id String,
    timestamp DateTime64(3, 'UTC'),
    name Nullable(String),
    user_id Nullable(String),
    session_id Nullable(String),
    release Nullable(String),
    version Nullable(String),
    environment LowCardinality(String) DEFAULT 'default',
    public Bool DEFAULT false,
    bookmarked Bool DEFAULT false,
    tags Array(String),
    metadata Map(LowCardinality(String), String),
    input Nullable(String) CODEC(ZSTD(3)),
    output Nullable(String) CODEC(ZSTD(3)),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    event_ts DateTime64(3, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    row_version UInt64,
    INDEX idx_ts timestamp TYPE minmax GRANULARITY 1,
    INDEX idx_user user_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_tags tags TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id)
SETTINGS index_granularity_bytes = 262144;

INSERT INTO traces_0002
SELECT *, toUInt64(toUnixTimestamp64Milli(event_ts)) * 1048576 AS row_version FROM traces FINAL;

EXCHANGE TABLES traces AND traces_0002;

DROP TABLE traces_0002;

CREATE TABLE IF NOT EXISTS observations_0002
(
    id String,
    trace_id String,
    project_id String,
    type LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    end_time Nullable(DateTime64(3, 'UTC')),
    name Nullable(String),
    parent_observation_id Nullable(String),
    environment LowCardinality(String) DEFAULT 'default',
    level LowCardinality(String) DEFAULT 'DEFAULT',
    status_message Nullable(String),
    version Nullable(String),
    metadata Map(LowCardinality(String), String),
    input Nullable(String) CODEC(ZSTD(3)),
    output Nullable(String) CODEC(ZSTD(3)),
    completion_start_time Nullable(DateTime64(3, 'UTC')),
    provided_model_name Nullable(String),
    internal_model_id Nullable(String),
    model_parameters Nullable(String),
    provided_usage_details Map(LowCardinality(String), UInt64),
    usage_details Map(LowCardinality(String), UInt64),
    provided_cost_details Map(LowCardinality(String), Decimal64(12)),
    cost_details Map(LowCardinality(String), Decimal64(12)),
    total_cost Nullable(Decimal64(12)),
    usage_pricing_tier_id Nullable(String),
    usage_pricing_tier_name Nullable(String),
    prompt_id Nullable(String),
    prompt_name Nullable(String),
    prompt_version Nullable(UInt32),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    event_ts DateTime64(3, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    row_version UInt64,
    INDEX idx_id id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_start start_time TYPE minmax GRANULARITY 1,
    INDEX idx_model provided_model_name TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, trace_id, id)
SETTINGS index_granularity_bytes = 262144;

INSERT INTO observations_0002
SELECT *, toUInt64(toUnixTimestamp64Milli(event_ts)) * 1048576 AS row_version FROM observations FINAL;

EXCHANGE TABLES observations AND observations_0002;

DROP TABLE observations_0002;

CREATE TABLE IF NOT EXISTS scores_0002 AS scores
ENGINE = ReplacingMergeTree(event_ts, is_deleted)
ORDER BY (project_id, id)
SETTINGS index_granularity = 1024;

INSERT INTO scores_0002 SELECT * FROM scores FINAL;

EXCHANGE TABLES scores AND scores_0002;

DROP TABLE scores_0002;
