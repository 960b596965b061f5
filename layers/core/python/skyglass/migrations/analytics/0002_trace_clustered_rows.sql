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
--    written by the worker. Lookups by id alone use the ``idx_id`` bloom filter instead of the
--    now redundant one on trace_id.
-- 3. Smaller granules: traces and observations carry KB-sized input and output, so a point read
--    decompresses one granule of at most 256 KiB instead of ~10 MiB; scores are small rows, so
--    they get 1024-row granules instead of 8192 (a trace's scores are read by id).
--
-- Each table is rebuilt as a copy of itself (columns, codecs and indexes) with the new engine
-- settings, filled from the old one (FINAL: one row per key), and swapped in atomically with
-- EXCHANGE TABLES. The version column is added to the old table first, with the event-time
-- default that fills it for the rows being copied.

ALTER TABLE traces ADD COLUMN IF NOT EXISTS row_version UInt64
    DEFAULT toUInt64(toUnixTimestamp64Milli(event_ts)) * 1048576;

CREATE TABLE IF NOT EXISTS traces_0002 AS traces
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, id)
SETTINGS index_granularity_bytes = 262144;

INSERT INTO traces_0002 SELECT * FROM traces FINAL;

EXCHANGE TABLES traces AND traces_0002;

DROP TABLE traces_0002;

ALTER TABLE observations ADD COLUMN IF NOT EXISTS row_version UInt64
    DEFAULT toUInt64(toUnixTimestamp64Milli(event_ts)) * 1048576;

CREATE TABLE IF NOT EXISTS observations_0002 AS observations
ENGINE = ReplacingMergeTree(row_version, is_deleted)
ORDER BY (project_id, trace_id, id)
SETTINGS index_granularity_bytes = 262144;

ALTER TABLE observations_0002 DROP INDEX IF EXISTS idx_trace;

ALTER TABLE observations_0002 ADD INDEX IF NOT EXISTS idx_id id TYPE bloom_filter(0.001) GRANULARITY 1;

INSERT INTO observations_0002 SELECT * FROM observations FINAL;

EXCHANGE TABLES observations AND observations_0002;

DROP TABLE observations_0002;

CREATE TABLE IF NOT EXISTS scores_0002 AS scores
ENGINE = ReplacingMergeTree(event_ts, is_deleted)
ORDER BY (project_id, id)
SETTINGS index_granularity = 1024;

INSERT INTO scores_0002 SELECT * FROM scores FINAL;

EXCHANGE TABLES scores AND scores_0002;

DROP TABLE scores_0002;
