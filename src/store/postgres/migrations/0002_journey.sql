-- triage shared store, format 2: the CX journey (issue 11) on the shared
-- store: journey rollups and service-recovery follow-ups.
-- SQL that PostgreSQL, CockroachDB (23.1+) and YugabyteDB all accept.

-- The friction map's rollups: per hour (span 0) and per UTC day (span 1)
-- x touchpoint x category x side x customer kind, the sums of the stored
-- contacts, kept in the transaction that changes a ticket. A few shards
-- per cell, as with the queue counters, so concurrent ingests of one cell
-- rarely wait for each other; readers sum them.
-- kind: 0 external, 1 internal.
CREATE TABLE IF NOT EXISTS triage_rollups (
    span SMALLINT NOT NULL,
    start_at BIGINT NOT NULL,
    touchpoint TEXT NOT NULL,
    category TEXT NOT NULL,
    side TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    shard SMALLINT NOT NULL,
    tickets BIGINT NOT NULL,
    repeat_contacts BIGINT NOT NULL,
    sentiment_milli BIGINT NOT NULL,
    very_negative BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    neutral BIGINT NOT NULL,
    positive BIGINT NOT NULL,
    very_positive BIGINT NOT NULL,
    PRIMARY KEY (span, start_at, touchpoint, category, side, kind, shard)
);

-- Which ticket a service-recovery follow-up follows up (NULL for the
-- customer's own contacts): "has the customer written again?" skips them.
ALTER TABLE triage_state ADD COLUMN IF NOT EXISTS follow_up_of BIGINT;

-- Follow-ups scheduled by a completion, until created or skipped. The row
-- goes in the transaction that acts on it, so each is acted on once.
CREATE TABLE IF NOT EXISTS triage_follow_ups (
    ticket_id BIGINT PRIMARY KEY REFERENCES triage_tickets (id) ON DELETE CASCADE,
    due_at BIGINT NOT NULL,
    plan BYTEA NOT NULL
);
CREATE INDEX IF NOT EXISTS triage_follow_ups_due ON triage_follow_ups (due_at);
