-- Core analytics tables. Applied in order by the analytics migration runner; statements are
-- separated by a line ending in ';'. The same file runs on chDB and on ClickHouse.
--
-- Sorting keys hold only what never changes for an entity: (project_id, id). A merge of partial
-- events arriving out of order may move a trace's timestamp, and ReplacingMergeTree only
-- collapses rows that share the sorting key (and partition), so neither time nor type is part
-- of a key and the tables are not partitioned by time. Secondary indexes cover lookups by trace,
-- session and user. Readers use FINAL (or LIMIT 1 BY) and filter is_deleted = 0.

CREATE TABLE IF NOT EXISTS traces
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
    INDEX idx_ts timestamp TYPE minmax GRANULARITY 1,
    INDEX idx_user user_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_tags tags TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(event_ts, is_deleted)
ORDER BY (project_id, id);

CREATE TABLE IF NOT EXISTS observations
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
    INDEX idx_trace trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_start start_time TYPE minmax GRANULARITY 1,
    INDEX idx_model provided_model_name TYPE bloom_filter(0.01) GRANULARITY 1
)
ENGINE = ReplacingMergeTree(event_ts, is_deleted)
ORDER BY (project_id, id);

CREATE TABLE IF NOT EXISTS scores
(
    id String,
    project_id String,
    timestamp DateTime64(3, 'UTC'),
    name String,
    value Float64,
    data_type LowCardinality(String),
    source LowCardinality(String),
    environment LowCardinality(String) DEFAULT 'default',
    trace_id Nullable(String),
    observation_id Nullable(String),
    session_id Nullable(String),
    dataset_run_id Nullable(String),
    string_value Nullable(String),
    comment Nullable(String) CODEC(ZSTD(1)),
    metadata Map(LowCardinality(String), String),
    author_user_id Nullable(String),
    config_id Nullable(String),
    queue_id Nullable(String),
    execution_trace_id Nullable(String),
    created_at DateTime64(3, 'UTC'),
    updated_at DateTime64(3, 'UTC'),
    event_ts DateTime64(3, 'UTC'),
    is_deleted UInt8 DEFAULT 0,
    INDEX idx_trace trace_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_session session_id TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_ts timestamp TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(event_ts, is_deleted)
ORDER BY (project_id, id);

-- Every accepted partial trace/observation event, so a row can be rebuilt from all of its
-- events in a deterministic order whatever order they arrived in. Keyed by event id: storing
-- the same event twice (a replayed blob, a redelivered message) changes nothing.
CREATE TABLE IF NOT EXISTS entity_events
(
    project_id String,
    entity_type LowCardinality(String),
    entity_id String,
    event_id String,
    event_type LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    body String CODEC(ZSTD(3)),
    received_at DateTime64(3, 'UTC'),
    blob_key String
)
ENGINE = ReplacingMergeTree(received_at)
ORDER BY (project_id, entity_type, entity_id, event_id);
