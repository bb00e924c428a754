-- 100 000 finished sandboxes of generated history over the last 30 days, for 50 accounts on
-- 20 nodes, recorded by usage_record as sandbox_finish records real ones; plus 200 running.
-- Used by deploy/scripts/explain-reports on a throwaway database; never run it on a real one.
INSERT INTO accounts (name, key_hash, parent_id)
SELECT 'history-' || i, decode(repeat('00', 32), 'hex'), NULL FROM generate_series(1, 50) AS i;
INSERT INTO templates (name, rootfs, public) VALUES ('history', '/nonexistent', true);
INSERT INTO nodes (name, node_type, memory_total_mb, slots_total)
SELECT 'history-node-' || i, 'default', 65536, 64 FROM generate_series(1, 20) AS i;
INSERT INTO prices (valid_from, per_mb_second) VALUES
    (utc_hour(now() - interval '60 days'), 0.000000010), (utc_hour(now() - interval '10 days'), 0.000000012);

WITH generated AS (
    SELECT (SELECT id FROM accounts WHERE name = 'history-' || (1 + i % 50)) AS owner_id,
           (SELECT id FROM nodes WHERE name = 'history-node-' || (1 + i % 20)) AS node_id,
           64 * (1 + i % 8) AS memory_mb,
           now() - interval '30 days' * random() AS created_at,
           CASE WHEN i % 50 = 0 THEN NULL ELSE random() * 2 END AS wait_s,
           random() * random() * 7200 AS life_s,
           (ARRAY['expired', 'killed', 'exited', 'lost', 'failed'])[1 + i % 5] AS reason
    FROM generate_series(1, 100000) AS i
), finished AS (
    INSERT INTO sandboxes (owner_id, creator_id, template_id, node_id, state, finish_reason, memory_mb, timeout_s,
                           reserved_memory_mb, reserved_slots, created_at, started_at, expires_at, finished_at)
    SELECT owner_id, owner_id, (SELECT id FROM templates WHERE name = 'history'), node_id, 'finished', reason,
           memory_mb, 7200, memory_mb, 1, created_at,
           created_at + wait_s * interval '1 second', created_at + (wait_s + 7200) * interval '1 second',
           created_at + (coalesce(wait_s, 0) + coalesce(life_s, 0) * (wait_s IS NOT NULL)::int) * interval '1 second'
    FROM generated
    RETURNING *
)
SELECT count(*) FROM finished, LATERAL usage_record(finished) AS r;

INSERT INTO sandboxes (owner_id, creator_id, template_id, node_id, state, memory_mb, timeout_s,
                       reserved_memory_mb, reserved_slots, created_at, started_at, expires_at)
SELECT a.id, a.id, (SELECT id FROM templates WHERE name = 'history'), (SELECT id FROM nodes WHERE name = 'history-node-' || (1 + i % 20)),
       'running', 128, 86400, 128, 1, now() - interval '3 hours', now() - interval '3 hours', now() + interval '21 hours'
FROM generate_series(1, 200) AS i JOIN accounts a ON a.name = 'history-' || (1 + i % 50);
ANALYZE;
