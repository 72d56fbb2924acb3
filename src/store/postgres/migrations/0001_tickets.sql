-- triage shared store, format 1: tickets, their state, history, claim
-- requests, sharded queue counters and the queue-event log.
-- SQL that PostgreSQL, CockroachDB (23.1+) and YugabyteDB all accept.
-- Times are microseconds since the Unix epoch (BIGINT).

-- Ticket ids count from 0, as in the embedded store.
CREATE SEQUENCE IF NOT EXISTS triage_ticket_ids MINVALUE 0 START WITH 0;

-- The immutable input, written once at ingest. (source, external_id) is
-- the idempotency key.
CREATE TABLE IF NOT EXISTS triage_tickets (
    id BIGINT PRIMARY KEY,
    source TEXT NOT NULL,
    external_id TEXT NOT NULL,
    input BYTEA NOT NULL,
    CONSTRAINT triage_tickets_idempotency UNIQUE (source, external_id)
);

-- The small, mutable part of a ticket. The columns the queues, sweeps and
-- statistics select on; the rest in `record` (JSON).
-- state: 0 queued, 1 claimed, 2 completed.
CREATE TABLE IF NOT EXISTS triage_state (
    id BIGINT PRIMARY KEY REFERENCES triage_tickets (id) ON DELETE CASCADE,
    queue TEXT NOT NULL,
    rank SMALLINT NOT NULL,
    state SMALLINT NOT NULL,
    customer_id TEXT NOT NULL,
    ingested_at BIGINT NOT NULL,
    enqueued_at BIGINT NOT NULL,
    due_at BIGINT,
    risk_at BIGINT,
    escalated BOOLEAN NOT NULL,
    lease_agent TEXT,
    lease_token TEXT,
    lease_expires_at BIGINT,
    completed_at BIGINT,
    side TEXT NOT NULL,
    category TEXT NOT NULL,
    record BYTEA NOT NULL
);

-- Claim order: priority rank, then sequence.
CREATE INDEX IF NOT EXISTS triage_state_waiting ON triage_state (queue, rank, id) WHERE state = 0;
-- Queue statistics read only the waiting tickets already at risk.
CREATE INDEX IF NOT EXISTS triage_state_at_risk ON triage_state (queue, risk_at) WHERE state = 0 AND risk_at IS NOT NULL;
-- The maintenance sweeps.
CREATE INDEX IF NOT EXISTS triage_state_deadlines ON triage_state (due_at) WHERE state = 0 AND NOT escalated AND due_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS triage_state_leases ON triage_state (lease_expires_at) WHERE state = 1;
CREATE INDEX IF NOT EXISTS triage_state_completed ON triage_state (completed_at) WHERE state = 2;
-- A customer's tickets, newest first.
CREATE INDEX IF NOT EXISTS triage_state_customer ON triage_state (customer_id, ingested_at, id);

-- One row per history entry; a run of lease extensions rewrites one entry.
CREATE TABLE IF NOT EXISTS triage_history (
    ticket_id BIGINT NOT NULL REFERENCES triage_tickets (id) ON DELETE CASCADE,
    entry INT NOT NULL,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (ticket_id, entry)
);

-- Claims made with a request id, while their lease lasts: a retry gets the
-- same lease. ticket_id -1: being claimed.
CREATE TABLE IF NOT EXISTS triage_claim_requests (
    agent_id TEXT NOT NULL,
    request_id TEXT NOT NULL,
    ticket_id BIGINT NOT NULL,
    PRIMARY KEY (agent_id, request_id)
);

-- Waiting and leased counts per queue, in a few shards so concurrent
-- writers to one queue rarely wait for each other; statistics sum them.
CREATE TABLE IF NOT EXISTS triage_queue_counts (
    queue TEXT NOT NULL,
    shard SMALLINT NOT NULL,
    waiting BIGINT NOT NULL,
    leased BIGINT NOT NULL,
    PRIMARY KEY (queue, shard)
);

-- Queue events of committed changes, read by every replica with a cursor.
CREATE SEQUENCE IF NOT EXISTS triage_event_ids;
CREATE TABLE IF NOT EXISTS triage_events (
    id BIGINT PRIMARY KEY DEFAULT nextval('triage_event_ids'),
    queue TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    ticket_id BIGINT NOT NULL,
    at BIGINT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS triage_events_recorded ON triage_events (recorded_at);
