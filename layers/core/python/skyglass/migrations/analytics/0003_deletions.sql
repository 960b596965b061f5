-- Deletions (tombstones). Deleting a trace or a score removes its rows and stored events, but the
-- raw event log keeps the blobs it came from: replaying them must not bring it back. The worker
-- looks up the tombstones of the traces and scores of each batch and drops the events received at
-- or before ``deleted_at``; events received later (the id used again) are ingested normally.
--
-- One row per deletion; deleting the same entity again keeps the newest time (the version). The
-- table stays tiny in normal use: it grows only with explicit deletions.

CREATE TABLE IF NOT EXISTS deletions
(
    project_id String,
    entity_type LowCardinality(String),
    entity_id String,
    deleted_at DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(deleted_at)
ORDER BY (project_id, entity_type, entity_id);
