-- Usage accounting, prices, quotas and the reporting views (read by the role hera_reporting).
-- Times are bucketed in UTC. A sandbox is charged for the memory it held on its node
-- (reserved_memory_mb: a whole-node sandbox holds the whole node) from started_at to finished_at,
-- both from the database clock.

-- The UTC hour and day a moment falls in. IMMUTABLE, so they can back indexes and generated columns.
CREATE FUNCTION utc_hour(p_at timestamptz) RETURNS timestamptz
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_trunc('hour', p_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' $$;

CREATE FUNCTION utc_day(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (p_at AT TIME ZONE 'UTC')::date $$;

-- Forgetting a node keeps its finished sandboxes (their node becomes unknown); a node with live
-- sandboxes cannot be deleted: their CHECK requires a node.
ALTER TABLE sandboxes DROP CONSTRAINT sandboxes_node_id_fkey,
    ADD CONSTRAINT sandboxes_node_id_fkey FOREIGN KEY (node_id) REFERENCES nodes(id) ON DELETE SET NULL;

-- Quotas: NULL is unlimited. A parent's quota covers its own sandboxes and its descendants'.
ALTER TABLE accounts
    ADD COLUMN max_memory_mb integer CHECK (max_memory_mb >= 0),
    ADD COLUMN max_sandboxes integer CHECK (max_sandboxes >= 0);
CREATE INDEX accounts_by_parent ON accounts (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX sandboxes_live_by_owner ON sandboxes (owner_id) INCLUDE (memory_mb, reserved_memory_mb)
    WHERE state IN ('queued', 'assigned', 'running');
CREATE INDEX sandboxes_queue_wait ON sandboxes (utc_hour(created_at)) INCLUDE (created_at, started_at)
    WHERE started_at IS NOT NULL;

-- One row per finished sandbox, written by sandbox_finish in the transaction that ends it.
-- The primary key makes charging a sandbox twice impossible.
CREATE TABLE sandbox_usage (
    sandbox_id      uuid PRIMARY KEY REFERENCES sandboxes(id),
    owner_id        bigint NOT NULL REFERENCES accounts(id),
    creator_id      bigint NOT NULL REFERENCES accounts(id),
    template_id     bigint NOT NULL REFERENCES templates(id),
    node_id         bigint REFERENCES nodes(id) ON DELETE SET NULL,
    node_name       text,                              -- kept when the node is forgotten
    memory_mb       integer NOT NULL CHECK (memory_mb >= 0),
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,                       -- NULL: it never started and costs nothing
    ended_at        timestamptz NOT NULL,
    mb_seconds      double precision NOT NULL CHECK (mb_seconds >= 0),
    cpu_seconds     double precision CHECK (cpu_seconds >= 0),     -- NULL: the node did not report it
    peak_memory_mb  integer CHECK (peak_memory_mb >= 0),           -- NULL: the node did not report it
    finish_reason   text NOT NULL,
    CHECK (started_at IS NOT NULL OR mb_seconds = 0)
);
CREATE INDEX sandbox_usage_by_end ON sandbox_usage (ended_at);
CREATE INDEX sandbox_usage_by_owner ON sandbox_usage (owner_id, ended_at);

-- The same usage cut at UTC hour boundaries, so hourly and daily sums are exact and indexed.
CREATE TABLE sandbox_usage_hours (
    sandbox_id  uuid NOT NULL REFERENCES sandbox_usage(sandbox_id),
    owner_id    bigint NOT NULL REFERENCES accounts(id),
    hour        timestamptz NOT NULL CHECK (hour = utc_hour(hour)),
    day         date NOT NULL GENERATED ALWAYS AS (utc_day(hour)) STORED,
    mb_seconds  double precision NOT NULL CHECK (mb_seconds >= 0),
    PRIMARY KEY (sandbox_id, hour)
);
CREATE INDEX sandbox_usage_hours_by_hour ON sandbox_usage_hours (hour);
CREATE INDEX sandbox_usage_hours_by_owner_hour ON sandbox_usage_hours (owner_id, hour);
CREATE INDEX sandbox_usage_hours_by_day ON sandbox_usage_hours (day);
CREATE INDEX sandbox_usage_hours_by_owner_day ON sandbox_usage_hours (owner_id, day);

-- Prices in force from valid_from (on an hour boundary) until the next row's valid_from.
-- A new price is a new row: past hours keep the price they had.
CREATE TABLE prices (
    valid_from      timestamptz PRIMARY KEY CHECK (valid_from = utc_hour(valid_from)),
    per_mb_second   numeric NOT NULL CHECK (per_mb_second >= 0),
    per_cpu_second  numeric NOT NULL DEFAULT 0 CHECK (per_cpu_second >= 0),
    currency        text NOT NULL DEFAULT 'USD',
    note            text
);

-- The pieces of [p_start, p_end) in each UTC hour, as MB-seconds of p_memory_mb.
CREATE FUNCTION usage_hour_pieces(p_start timestamptz, p_end timestamptz, p_memory_mb integer)
RETURNS TABLE (hour timestamptz, mb_seconds double precision)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT h, p_memory_mb * extract(epoch FROM least(p_end, h + interval '1 hour') - greatest(p_start, h))::double precision
    FROM generate_series(utc_hour(p_start), p_end, interval '1 hour') AS h
    WHERE h < p_end
$$;

-- Records the usage of a sandbox that has just finished (called by sandbox_finish).
CREATE FUNCTION usage_record(v sandboxes) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sandbox_usage (sandbox_id, owner_id, creator_id, template_id, node_id, node_name, memory_mb,
                               created_at, started_at, ended_at, mb_seconds, cpu_seconds, peak_memory_mb, finish_reason)
    VALUES (v.id, v.owner_id, v.creator_id, v.template_id, v.node_id, (SELECT name FROM nodes WHERE id = v.node_id),
            v.reserved_memory_mb, v.created_at, v.started_at, v.finished_at,
            coalesce(v.reserved_memory_mb * extract(epoch FROM v.finished_at - v.started_at)::double precision, 0),
            v.cpu_seconds, v.peak_memory_mb, v.finish_reason);
    INSERT INTO sandbox_usage_hours (sandbox_id, owner_id, hour, mb_seconds)
    SELECT v.id, v.owner_id, p.hour, p.mb_seconds
    FROM usage_hour_pieces(v.started_at, v.finished_at, v.reserved_memory_mb) AS p;
END $$;

-- Why this account may not hold p_memory_mb more right now, or NULL when it may. Checks the
-- owner's quotas and those of every ancestor (a parent's quota covers its descendants). Locks
-- the accounts that have a quota, so concurrent reservations on any gateway count one after
-- another; accounts without quotas take no lock.
CREATE FUNCTION account_quota_refusal(p_owner_id bigint, p_memory_mb integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    q record;
    v_count bigint;
    v_memory bigint;
BEGIN
    FOR q IN
        WITH RECURSIVE chain(id, parent_id) AS (
            SELECT id, parent_id FROM accounts WHERE id = p_owner_id
            UNION
            SELECT a.id, a.parent_id FROM accounts a JOIN chain c ON a.id = c.parent_id)
        SELECT a.id, a.name, a.max_memory_mb, a.max_sandboxes FROM accounts a
        WHERE a.id IN (SELECT id FROM chain) AND (a.max_memory_mb IS NOT NULL OR a.max_sandboxes IS NOT NULL)
        ORDER BY a.id
        FOR NO KEY UPDATE OF a
    LOOP
        WITH RECURSIVE subtree(id) AS (
            SELECT q.id
            UNION
            SELECT a.id FROM accounts a JOIN subtree t ON a.parent_id = t.id)
        SELECT count(*), coalesce(sum(greatest(s.memory_mb, s.reserved_memory_mb)), 0) INTO v_count, v_memory
        FROM sandboxes s
        WHERE s.owner_id IN (SELECT id FROM subtree) AND s.state IN ('queued', 'assigned', 'running');
        IF q.max_sandboxes IS NOT NULL AND v_count + 1 > q.max_sandboxes THEN
            RETURN format('quota max-sandboxes of account %s: at most %s live sandboxes%s, %s already live',
                          q.name, q.max_sandboxes, CASE WHEN q.id <> p_owner_id THEN ' (with its child accounts)' ELSE '' END,
                          v_count);
        END IF;
        IF q.max_memory_mb IS NOT NULL AND v_memory + p_memory_mb > q.max_memory_mb THEN
            RETURN format('quota max-memory of account %s: at most %s MB at once%s, %s MB in use, %s MB asked',
                          q.name, q.max_memory_mb, CASE WHEN q.id <> p_owner_id THEN ' (with its child accounts)' ELSE '' END,
                          v_memory, p_memory_mb);
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

------------------------------------------------------------------------------------------------
-- Reporting views. Only these are granted to hera_reporting.

-- Prices with the end of their validity (NULL: still in force).
CREATE VIEW price_periods AS
SELECT valid_from, lead(valid_from) OVER (ORDER BY valid_from) AS valid_until,
       per_mb_second, per_cpu_second, currency, note
FROM prices;

-- Every sandbox that has finished, or is running (charged up to now) or assigned (nothing yet).
CREATE VIEW usage_by_sandbox AS
SELECT u.sandbox_id, o.name AS account, c.name AS creator, t.name AS template, u.node_name AS node,
       u.memory_mb, u.created_at, u.started_at, u.ended_at, true AS finished, u.finish_reason,
       u.started_at IS NULL AS never_started, u.mb_seconds, u.cpu_seconds, u.peak_memory_mb
FROM sandbox_usage u
JOIN accounts o ON o.id = u.owner_id JOIN accounts c ON c.id = u.creator_id JOIN templates t ON t.id = u.template_id
UNION ALL
SELECT s.id, o.name, c.name, t.name, n.name,
       s.reserved_memory_mb, s.created_at, s.started_at, now(), false, NULL,
       s.started_at IS NULL, coalesce(s.reserved_memory_mb * extract(epoch FROM now() - s.started_at)::double precision, 0),
       NULL, NULL
FROM sandboxes s
JOIN accounts o ON o.id = s.owner_id JOIN accounts c ON c.id = s.creator_id JOIN templates t ON t.id = s.template_id
LEFT JOIN nodes n ON n.id = s.node_id
WHERE s.state IN ('queued', 'assigned', 'running');

-- Usage per sandbox per UTC hour, including the running part up to now, with its cost at the
-- price in force in that hour (NULL when no price was set then).
CREATE VIEW usage_by_sandbox_hour AS
SELECT pieces.sandbox_id, o.name AS account, pieces.owner_id, pieces.hour, pieces.day, pieces.mb_seconds,
       (pieces.mb_seconds::numeric * p.per_mb_second) AS cost, p.currency
FROM (
    SELECT h.sandbox_id, h.owner_id, h.hour, h.day, h.mb_seconds FROM sandbox_usage_hours h
    UNION ALL
    SELECT s.id, s.owner_id, r.hour, utc_day(r.hour), r.mb_seconds
    FROM sandboxes s CROSS JOIN LATERAL usage_hour_pieces(s.started_at, now(), s.reserved_memory_mb) AS r
    WHERE s.state = 'running'
) AS pieces
JOIN accounts o ON o.id = pieces.owner_id
LEFT JOIN LATERAL (SELECT pr.per_mb_second, pr.currency FROM prices pr
                   WHERE pr.valid_from <= pieces.hour ORDER BY pr.valid_from DESC LIMIT 1) AS p ON true;

CREATE VIEW usage_by_account_hour AS
SELECT account, hour, count(*) AS sandboxes, sum(mb_seconds) AS mb_seconds,
       sum(mb_seconds) / 3600 / 1024 AS gb_hours, sum(cost) AS cost, min(currency) AS currency
FROM usage_by_sandbox_hour
GROUP BY account, hour;

CREATE VIEW usage_by_account_day AS
SELECT account, day, count(DISTINCT sandbox_id) AS sandboxes, sum(mb_seconds) AS mb_seconds,
       sum(mb_seconds) / 3600 / 1024 AS gb_hours, sum(cost) AS cost, min(currency) AS currency
FROM usage_by_sandbox_hour
GROUP BY account, day;

-- Live sandboxes per account right now, beside its quotas.
CREATE VIEW live_by_account AS
SELECT a.name AS account, p.name AS parent,
       count(*) FILTER (WHERE s.state = 'queued') AS queued,
       count(*) FILTER (WHERE s.state = 'assigned') AS assigned,
       count(*) FILTER (WHERE s.state = 'running') AS running,
       coalesce(sum(s.reserved_memory_mb), 0) AS reserved_memory_mb,
       a.max_sandboxes, a.max_memory_mb
FROM accounts a
LEFT JOIN accounts p ON p.id = a.parent_id
JOIN sandboxes s ON s.owner_id = a.id AND s.state IN ('queued', 'assigned', 'running')
GROUP BY a.id, p.name;

-- Time from request to running, per UTC hour of the request, in seconds.
CREATE VIEW queue_wait_by_hour AS
SELECT utc_hour(created_at) AS hour, count(*) AS started,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS p50_seconds,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS p90_seconds,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - created_at)) AS p99_seconds,
       max(extract(epoch FROM started_at - created_at)) AS max_seconds
FROM sandboxes
WHERE started_at IS NOT NULL
GROUP BY utc_hour(created_at);

-- Each node's reservations against its capacity right now.
CREATE VIEW node_utilisation AS
SELECT name, node_type,
       CASE WHEN heartbeat_at <= now() - node_heartbeat_bound() THEN 'down' WHEN drained THEN 'drained' ELSE 'up' END AS state,
       memory_total_mb, memory_reserved_mb,
       round(100.0 * memory_reserved_mb / nullif(memory_total_mb, 0), 1) AS memory_reserved_percent,
       slots_total, slots_reserved,
       round(100.0 * slots_reserved / nullif(slots_total, 0), 1) AS slots_reserved_percent
FROM nodes;

-- Accounts without their key hashes.
CREATE VIEW account_overview AS
SELECT a.name AS account, p.name AS parent, a.disabled, a.max_sandboxes, a.max_memory_mb, a.created_at
FROM accounts a LEFT JOIN accounts p ON p.id = a.parent_id;

------------------------------------------------------------------------------------------------
-- The read-only reporting role: the views above and nothing else. Give people logins with
-- CREATE ROLE name LOGIN PASSWORD '…' IN ROLE hera_reporting (see the README).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hera_reporting') THEN
        CREATE ROLE hera_reporting NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA public TO hera_reporting;
GRANT SELECT ON price_periods, usage_by_sandbox, usage_by_sandbox_hour, usage_by_account_hour, usage_by_account_day,
                live_by_account, queue_wait_by_hour, node_utilisation, account_overview TO hera_reporting;
