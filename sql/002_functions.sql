-- Every state transition is one stored function: one round trip, one transaction.

-- A node whose heartbeat is older than this takes no new sandboxes.
CREATE FUNCTION node_heartbeat_bound() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '15 seconds' $$;

-- Registers a node (or re-registers it after a restart) and starts a new run of it: the epoch
-- goes up, so anything the previous run still tries to write is refused. Capacity changes apply
-- only while nothing is reserved on it, so reservations never exceed what the node had.
CREATE FUNCTION node_register(p_name text, p_type text, p_memory_mb integer, p_slots integer, p_address text DEFAULT '')
RETURNS TABLE (node_id bigint, epoch bigint) LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY
    INSERT INTO nodes AS n (name, node_type, memory_total_mb, slots_total, address)
    VALUES (p_name, p_type, p_memory_mb, p_slots, p_address)
    ON CONFLICT (name) DO UPDATE SET
        heartbeat_at    = now(),
        epoch           = n.epoch + 1,
        node_type       = EXCLUDED.node_type,
        address         = EXCLUDED.address,
        memory_total_mb = CASE WHEN n.memory_reserved_mb = 0 AND n.slots_reserved = 0
                               THEN EXCLUDED.memory_total_mb ELSE n.memory_total_mb END,
        slots_total     = CASE WHEN n.memory_reserved_mb = 0 AND n.slots_reserved = 0
                               THEN EXCLUDED.slots_total ELSE n.slots_total END
    RETURNING n.id, n.epoch;
    PERFORM pg_notify('hera_gateway', 'capacity');
END $$;

-- A node run's heartbeat; false when that run has been fenced off (declared lost, or replaced
-- by a newer run): it must then stop its sandboxes and register again.
CREATE FUNCTION node_heartbeat(p_node_id bigint, p_epoch bigint) RETURNS boolean
LANGUAGE sql AS $$
    UPDATE nodes SET heartbeat_at = now() WHERE id = p_node_id AND epoch = p_epoch RETURNING true
$$;

-- Declares lost every node that stopped heart-beating while it had live sandboxes: they end
-- `lost` (capacity released) and the node's epoch goes up, fencing off the run that went
-- silent. Any gateway replica runs it; SKIP LOCKED lets replicas share the work, and
-- sandbox_finish is idempotent, so each sandbox ends exactly once. Returns the sandboxes ended.
CREATE FUNCTION node_sweep_lost() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE v_node nodes; v_ended integer := 0; v_id uuid;
BEGIN
    FOR v_node IN
        SELECT n.* FROM nodes n
        WHERE n.heartbeat_at < now() - node_heartbeat_bound()
          AND EXISTS (SELECT 1 FROM sandboxes s WHERE s.node_id = n.id AND s.state IN ('assigned', 'running'))
        FOR UPDATE SKIP LOCKED
    LOOP
        UPDATE nodes SET epoch = epoch + 1 WHERE id = v_node.id;
        FOR v_id IN SELECT s.id FROM sandboxes s WHERE s.node_id = v_node.id AND s.state IN ('assigned', 'running') LOOP
            IF sandbox_finish(v_id, 'lost', format('node %s stopped heart-beating', v_node.name)) THEN
                v_ended := v_ended + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN v_ended;
END $$;

-- Could this node take a sandbox of this size right now? Live, not drained, of the asked type,
-- a free slot and enough free memory; for a whole-node sandbox, nothing else on it.
CREATE FUNCTION node_can_take(n nodes, p_memory_mb integer, p_whole_node boolean, p_node_type text)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT n.drained AND n.heartbeat_at > now() - node_heartbeat_bound()
       AND (p_node_type IS NULL OR n.node_type = p_node_type)
       AND n.slots_reserved < n.slots_total
       AND CASE WHEN p_whole_node
                THEN n.memory_reserved_mb = 0 AND n.slots_reserved = 0 AND n.memory_total_mb >= p_memory_mb
                ELSE n.memory_total_mb - n.memory_reserved_mb >= p_memory_mb END
$$;

-- Resolves a template reference as the API takes it: a numeric id, "account/name", or a bare
-- name (the caller's own template of that name, else a public system template).
-- Returns NULL when there is none; the caller checks visibility.
CREATE FUNCTION template_resolve(p_account_id bigint, p_ref text) RETURNS templates
LANGUAGE plpgsql STABLE AS $$
DECLARE v templates;
BEGIN
    IF p_ref ~ '^[0-9]{1,18}$' THEN
        SELECT * INTO v FROM templates WHERE id = p_ref::bigint;
    ELSIF position('/' IN p_ref) > 0 THEN
        SELECT t.* INTO v FROM templates t JOIN accounts a ON a.id = t.owner_id
        WHERE a.name = split_part(p_ref, '/', 1) AND t.name = substr(p_ref, position('/' IN p_ref) + 1);
    ELSE
        SELECT * INTO v FROM templates WHERE owner_id = p_account_id AND name = p_ref;
        IF NOT FOUND THEN
            SELECT * INTO v FROM templates WHERE owner_id IS NULL AND name = p_ref;
        END IF;
    END IF;
    IF NOT FOUND THEN RETURN NULL; END IF;
    RETURN v;
END $$;

-- Reserves room for a sandbox on one live node and returns that node and what was reserved,
-- or no row when no node can take it now. Tries the free nodes no one else is locking first
-- (SKIP LOCKED); if that finds none, waits for the locked ones (FOR UPDATE re-checks each row
-- after the wait), so a request is never refused while some live node could take it.
CREATE FUNCTION node_reserve(p_memory_mb integer, p_whole_node boolean, p_node_type text)
RETURNS TABLE (node_id bigint, reserved_memory_mb integer, reserved_slots integer)
LANGUAGE plpgsql AS $$
DECLARE v_node nodes; v_memory integer; v_slots integer;
BEGIN
    SELECT n.* INTO v_node FROM nodes n
    WHERE node_can_take(n, p_memory_mb, p_whole_node, p_node_type)
    ORDER BY n.memory_total_mb - n.memory_reserved_mb, n.id
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT n.* INTO v_node FROM nodes n
        WHERE node_can_take(n, p_memory_mb, p_whole_node, p_node_type)
        ORDER BY n.memory_total_mb - n.memory_reserved_mb, n.id
        LIMIT 1 FOR UPDATE;
    END IF;
    IF NOT FOUND THEN RETURN; END IF;
    v_memory := CASE WHEN p_whole_node THEN v_node.memory_total_mb ELSE p_memory_mb END;
    v_slots  := CASE WHEN p_whole_node THEN v_node.slots_total ELSE 1 END;
    UPDATE nodes SET memory_reserved_mb = memory_reserved_mb + v_memory, slots_reserved = slots_reserved + v_slots
    WHERE id = v_node.id;
    RETURN QUERY SELECT v_node.id, v_memory, v_slots;
END $$;

-- Why no live node could ever take this request (too big, or no node of the type), else NULL.
CREATE FUNCTION node_never_fits(p_memory_mb integer, p_node_type text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN EXISTS (
            SELECT 1 FROM nodes n
            WHERE NOT n.drained AND n.heartbeat_at > now() - node_heartbeat_bound()
              AND (p_node_type IS NULL OR n.node_type = p_node_type)
              AND n.memory_total_mb >= p_memory_mb AND n.slots_total > 0) THEN NULL
        WHEN p_node_type IS NULL THEN format('no live node has %s MB in total', p_memory_mb)
        ELSE format('no live node of type %s has %s MB in total', p_node_type, p_memory_mb) END
$$;

-- The main command of a new sandbox (if it has one): queued as its first command; when it
-- ends, the sandbox ends `exited`. Returns its exec id.
CREATE FUNCTION sandbox_add_main(p_id uuid, p_args jsonb) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO execs (sandbox_id, args, is_main) SELECT p_id, p_args, true WHERE p_args IS NOT NULL RETURNING id
$$;

-- Creates a sandbox: checks the owner and the template, then reserves room on a node in the
-- same transaction. When no node has room: with p_async the request waits in the queue
-- (unless no node could ever take it, or the owner already has p_max_queued waiting), else
-- ResourceNotAvailable. An async request also queues, instead of taking room, while some
-- queued request has waited p_backfill_limit_s (see queue_assign): new arrivals must not
-- starve it either. Sync requests are "now or never" and do not look at the queue.
CREATE FUNCTION sandbox_create(
    p_caller_id bigint, p_owner text, p_template text, p_memory_mb integer,
    p_timeout_s integer, p_whole_node boolean, p_node_type text,
    p_async boolean DEFAULT false, p_priority integer DEFAULT 0, p_priority_growth double precision DEFAULT 0,
    p_queue_timeout_s integer DEFAULT NULL, p_webhook_url text DEFAULT NULL, p_webhook_secret text DEFAULT NULL,
    p_max_queued integer DEFAULT 100, p_backfill_limit_s double precision DEFAULT 30, p_main_args jsonb DEFAULT NULL,
    p_labels jsonb DEFAULT '{}')
RETURNS TABLE (status text, message text, sandbox_id uuid, node_id bigint, exec_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_owner_id bigint;
    v_template templates;
    v_node_id bigint;
    v_reserved_memory integer;
    v_reserved_slots integer;
    v_never text;
    v_id uuid;
BEGIN
    IF p_owner = 'me' THEN
        v_owner_id := p_caller_id;
    ELSE
        SELECT a.id INTO v_owner_id FROM accounts a
        WHERE a.name = p_owner AND (a.id = p_caller_id OR a.parent_id = p_caller_id);
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'PermissionDenied', format('you may not create sandboxes for %s', p_owner), NULL::uuid, NULL::bigint, NULL::bigint;
            RETURN;
        END IF;
    END IF;

    v_template := template_resolve(p_caller_id, p_template);
    IF v_template.id IS NULL THEN
        RETURN QUERY SELECT 'TemplateDoesNotExist', format('no template %s', p_template), NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF NOT v_template.public AND v_template.owner_id IS DISTINCT FROM p_caller_id
       AND v_template.owner_id IS DISTINCT FROM v_owner_id THEN
        RETURN QUERY SELECT 'PermissionDenied', format('template %s is private', p_template), NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF p_memory_mb < v_template.min_memory_mb THEN
        RETURN QUERY SELECT 'NotEnoughMemoryRequested',
            format('template %s needs at least %s MB', v_template.name, v_template.min_memory_mb), NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'QuotaExceeded', r, NULL::uuid, NULL::bigint, NULL::bigint FROM account_quota_refusal(v_owner_id, p_memory_mb) AS r WHERE r IS NOT NULL;
    IF FOUND THEN RETURN; END IF;

    IF NOT (p_async AND EXISTS (SELECT 1 FROM sandboxes s WHERE s.state = 'queued'
                                AND s.created_at <= now() - p_backfill_limit_s * interval '1 second')) THEN
        SELECT r.node_id, r.reserved_memory_mb, r.reserved_slots INTO v_node_id, v_reserved_memory, v_reserved_slots
        FROM node_reserve(p_memory_mb, p_whole_node, p_node_type) r;
    END IF;
    IF v_node_id IS NOT NULL THEN
        INSERT INTO sandboxes (owner_id, creator_id, template_id, node_id, state, memory_mb, timeout_s, whole_node,
                               reserved_memory_mb, reserved_slots, node_type, priority, priority_growth,
                               webhook_url, webhook_secret, labels)
        VALUES (v_owner_id, p_caller_id, v_template.id, v_node_id, 'assigned', p_memory_mb, p_timeout_s,
                p_whole_node, v_reserved_memory, v_reserved_slots, p_node_type, p_priority,
                p_priority_growth, p_webhook_url, p_webhook_secret, p_labels)
        RETURNING id INTO v_id;
        RETURN QUERY SELECT 'ok', NULL::text, v_id, v_node_id, sandbox_add_main(v_id, p_main_args);
        RETURN;
    END IF;

    v_never := node_never_fits(p_memory_mb, p_node_type);
    IF v_never IS NOT NULL THEN
        RETURN QUERY SELECT 'ResourceNotAvailable', v_never, NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF NOT p_async THEN
        RETURN QUERY SELECT 'ResourceNotAvailable', 'the cluster is full right now; retry later, or ask with async=true to be queued',
            NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- Serialise the owner's queued count with its other requests.
    PERFORM 1 FROM accounts WHERE id = v_owner_id FOR UPDATE;
    IF (SELECT count(*) FROM sandboxes s WHERE s.owner_id = v_owner_id AND s.state = 'queued') >= p_max_queued THEN
        RETURN QUERY SELECT 'QueueFull', format('%s already has %s requests queued', p_owner, p_max_queued),
            NULL::uuid, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO sandboxes (owner_id, creator_id, template_id, state, memory_mb, timeout_s, whole_node, node_type,
                           priority, priority_growth, queue_deadline, webhook_url, webhook_secret, labels)
    VALUES (v_owner_id, p_caller_id, v_template.id, 'queued', p_memory_mb, p_timeout_s, p_whole_node, p_node_type,
            p_priority, p_priority_growth, now() + p_queue_timeout_s * interval '1 second', p_webhook_url, p_webhook_secret,
            p_labels)
    RETURNING id INTO v_id;
    RETURN QUERY SELECT 'ok', NULL::text, v_id, NULL::bigint, sandbox_add_main(v_id, p_main_args);
END $$;

-- Assigns queued sandboxes to nodes with room, best effective priority first (priority minus
-- priority_growth per second waited; then arrival). Backfill: a request that does not fit
-- anywhere is passed over and later ones that fit are assigned — until the passed-over request
-- has waited p_backfill_limit_s seconds; from then on nothing behind it is assigned before it,
-- so freed capacity accumulates for it and it cannot starve. Requests past their queue deadline
-- end `cancelled` (queue_timeout). Replicas share the queue with SKIP LOCKED.
-- Returns the assignments made, for waking their nodes.
CREATE FUNCTION queue_assign(p_backfill_limit_s double precision, p_max integer)
RETURNS TABLE (sandbox_id uuid, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes; v_node_id bigint; v_reserved_memory integer; v_reserved_slots integer;
BEGIN
    FOR v IN
        SELECT s.* FROM sandboxes s WHERE s.state = 'queued'
        ORDER BY s.priority - s.priority_growth * extract(epoch FROM now() - s.created_at), s.created_at, s.id
        LIMIT p_max FOR UPDATE SKIP LOCKED
    LOOP
        IF v.queue_deadline IS NOT NULL AND v.queue_deadline <= now() THEN
            PERFORM sandbox_finish(v.id, 'cancelled', 'queue_timeout');
            CONTINUE;
        END IF;
        SELECT r.node_id, r.reserved_memory_mb, r.reserved_slots INTO v_node_id, v_reserved_memory, v_reserved_slots
        FROM node_reserve(v.memory_mb, v.whole_node, v.node_type) r;
        IF v_node_id IS NOT NULL THEN
            UPDATE sandboxes SET state = 'assigned', node_id = v_node_id,
                                 reserved_memory_mb = v_reserved_memory, reserved_slots = v_reserved_slots
            WHERE id = v.id;
            RETURN QUERY SELECT v.id, v_node_id;
        ELSIF extract(epoch FROM now() - v.created_at) >= p_backfill_limit_s THEN
            EXIT;
        END IF;
    END LOOP;
END $$;

-- Where a queued sandbox stands: 1 + how many queued requests come before it.
CREATE FUNCTION queue_position(p_id uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT 1 + count(*) FROM sandboxes s, sandboxes me
    WHERE me.id = p_id AND me.state = 'queued' AND s.state = 'queued' AND s.id <> me.id
      AND (s.priority - s.priority_growth * extract(epoch FROM now() - s.created_at), s.created_at, s.id)
        < (me.priority - me.priority_growth * extract(epoch FROM now() - me.created_at), me.created_at, me.id)
$$;

-- The node started the sandbox: its life starts now (database clock). Returns the seconds
-- left, or NULL when the sandbox is no longer assigned to this node run (killed, finished, or
-- the run was fenced off). A sandbox with a webhook gets its delivery queued in the same transaction.
CREATE FUNCTION sandbox_mark_running(p_id uuid, p_node_id bigint, p_epoch bigint) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE v sandboxes;
BEGIN
    UPDATE sandboxes s SET state = 'running', started_at = now(), expires_at = now() + s.timeout_s * interval '1 second'
    WHERE s.id = p_id AND s.node_id = p_node_id AND s.state = 'assigned'
      AND EXISTS (SELECT 1 FROM nodes n WHERE n.id = p_node_id AND n.epoch = p_epoch)
    RETURNING * INTO v;
    IF NOT FOUND THEN RETURN NULL; END IF;
    IF v.webhook_url IS NOT NULL THEN
        INSERT INTO webhook_deliveries (sandbox_id, url, body)
        VALUES (v.id, v.webhook_url, 'id=' || v.id || '&secret=' || form_encode(coalesce(v.webhook_secret, '')) || '&state=running');
        PERFORM pg_notify('hera_gateway', 'webhook');
    END IF;
    RETURN v.timeout_s::double precision;
END $$;

-- Percent-encodes text for an application/x-www-form-urlencoded body (UTF-8, unreserved kept).
CREATE FUNCTION form_encode(p text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(string_agg(
        CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
             THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END, '' ORDER BY i), '')
    FROM (SELECT i, get_byte(convert_to(p, 'UTF8'), i) AS b
          FROM generate_series(0, octet_length(convert_to(p, 'UTF8')) - 1) AS i) AS bytes
$$;

-- A node run ends one of its sandboxes, with what it measured of it (NULL where it could
-- not); refused (false) when the run has been fenced off.
CREATE FUNCTION node_sandbox_finish(p_node_id bigint, p_epoch bigint, p_id uuid, p_reason text, p_detail text,
                                    p_cpu_seconds double precision DEFAULT NULL, p_peak_memory_mb integer DEFAULT NULL)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM nodes WHERE id = p_node_id AND epoch = p_epoch) THEN
        RETURN false;
    END IF;
    UPDATE sandboxes SET cpu_seconds = p_cpu_seconds, peak_memory_mb = p_peak_memory_mb
    WHERE id = p_id AND node_id = p_node_id AND state <> 'finished';
    IF NOT FOUND THEN RETURN false; END IF;
    RETURN sandbox_finish(p_id, p_reason, p_detail);
END $$;

-- Ends a sandbox: records its end, releases its capacity, ends its unfinished execs, all in
-- one transaction. Idempotent: returns false when it had already ended.
CREATE FUNCTION sandbox_finish(p_id uuid, p_reason text, p_detail text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE v sandboxes;
BEGIN
    UPDATE sandboxes SET state = 'finished', finish_reason = p_reason, finish_detail = p_detail,
                         finished_at = now()
    WHERE id = p_id AND state <> 'finished'
    RETURNING * INTO v;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM usage_record(v);
    IF v.node_id IS NOT NULL THEN
        UPDATE nodes SET memory_reserved_mb = memory_reserved_mb - v.reserved_memory_mb,
                         slots_reserved = slots_reserved - v.reserved_slots
        WHERE id = v.node_id;
    END IF;
    UPDATE execs SET state = 'done', error = 'the sandbox ended (' || p_reason || ')', finished_at = now()
    WHERE sandbox_id = p_id AND state <> 'done';
    PERFORM pg_notify('hera_gateway', 'sandbox:' || p_id);
    RETURN true;
END $$;

-- Commands of one sandbox that may wait or run at once.
CREATE FUNCTION exec_unfinished_limit() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 64 $$;

-- Queues a command for a live sandbox the caller may use.
CREATE FUNCTION exec_create(p_caller_id bigint, p_sandbox_id uuid, p_args jsonb, p_stdin bytea, p_merge_stderr boolean,
                            p_timeout_s double precision DEFAULT NULL, p_env jsonb DEFAULT '{}', p_cwd text DEFAULT '/',
                            p_output_limit integer DEFAULT NULL)
RETURNS TABLE (status text, message text, exec_id bigint, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes; v_exec bigint;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_sandbox_id;
    RETURN QUERY SELECT r.status, r.message, NULL::bigint, NULL::bigint FROM sandbox_refusal(p_caller_id, v) r;
    IF FOUND THEN RETURN; END IF;
    IF (SELECT count(*) FROM execs e WHERE e.sandbox_id = p_sandbox_id AND e.state <> 'done') >= exec_unfinished_limit() THEN
        RETURN QUERY SELECT 'QueueFull', format('this sandbox already has %s commands waiting or running', exec_unfinished_limit()),
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO execs (sandbox_id, args, stdin, merge_stderr, timeout_s, env, cwd, output_limit)
    VALUES (p_sandbox_id, p_args, p_stdin, p_merge_stderr, p_timeout_s, p_env, p_cwd, p_output_limit)
    RETURNING id INTO v_exec;
    RETURN QUERY SELECT 'ok', NULL::text, v_exec, v.node_id;
END $$;

-- The node ran a command: store its result and wake the gateway waiting for it.
CREATE FUNCTION exec_finish(p_node_id bigint, p_epoch bigint, p_id bigint, p_stdout bytea, p_stderr bytea,
                            p_stdout_truncated boolean, p_stderr_truncated boolean, p_exit_code integer,
                            p_signal integer, p_oom_killed boolean, p_error text, p_timed_out boolean,
                            p_wall_seconds double precision, p_cpu_user_seconds double precision,
                            p_cpu_system_seconds double precision, p_peak_memory_bytes bigint, p_peak_pids integer)
RETURNS void LANGUAGE sql AS $$
    UPDATE execs SET state = 'done', stdout = p_stdout, stderr = p_stderr,
                     stdout_truncated = p_stdout_truncated, stderr_truncated = p_stderr_truncated,
                     exit_code = p_exit_code, signal = p_signal, oom_killed = p_oom_killed,
                     error = p_error, finished_at = now(), timed_out = p_timed_out, wall_seconds = p_wall_seconds,
                     cpu_user_seconds = p_cpu_user_seconds, cpu_system_seconds = p_cpu_system_seconds,
                     peak_memory_bytes = p_peak_memory_bytes, peak_pids = p_peak_pids
    WHERE id = p_id
      -- A command the sandbox's end closed (sandbox_finish) still gets the output it wrote.
      AND (state = 'running' OR (state = 'done' AND stdout IS NULL AND error IS NOT NULL))
      AND EXISTS (SELECT 1 FROM sandboxes s JOIN nodes n ON n.id = s.node_id
                  WHERE s.id = execs.sandbox_id AND n.id = p_node_id AND n.epoch = p_epoch);
    SELECT pg_notify('hera_gateway', 'exec:' || p_id);
    SELECT pg_notify('hera_gateway', 'exec-output:' || p_id);
$$;

-- The node appends what a running command wrote since its last call (live output) and wakes
-- the gateways following it. exec_finish later stores the complete (capped) output.
CREATE FUNCTION exec_output_append(p_node_id bigint, p_epoch bigint, p_id bigint, p_stdout bytea, p_stderr bytea)
RETURNS void LANGUAGE sql AS $$
    UPDATE execs SET stdout = coalesce(stdout, '') || p_stdout, stderr = coalesce(stderr, '') || p_stderr
    WHERE id = p_id AND state = 'running'
      AND EXISTS (SELECT 1 FROM sandboxes s JOIN nodes n ON n.id = s.node_id
                  WHERE s.id = execs.sandbox_id AND n.id = p_node_id AND n.epoch = p_epoch);
    SELECT pg_notify('hera_gateway', 'exec-output:' || p_id);
$$;

-- May this account see and use this sandbox? Its owner, its creator, and the owner's parent may.
CREATE FUNCTION account_may_use(p_caller_id bigint, v sandboxes) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT v.owner_id = p_caller_id OR v.creator_id = p_caller_id
        OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = v.owner_id AND a.parent_id = p_caller_id)
$$;

-- Why the caller may not act on this sandbox (a status for the API and a message), or no row
-- when it may: it must exist, be the caller's to use, and not have finished (or be ending).
CREATE FUNCTION sandbox_refusal(p_caller_id bigint, v sandboxes) RETURNS TABLE (status text, message text)
LANGUAGE sql STABLE AS $$
    SELECT 'SandboxDoesNotExist', 'no such sandbox' WHERE v.id IS NULL
    UNION ALL
    SELECT 'PermissionDenied', 'this sandbox belongs to another account' WHERE v.id IS NOT NULL AND NOT account_may_use(p_caller_id, v)
    UNION ALL
    SELECT 'SandboxNoLongerAlive', 'the sandbox has finished'
    WHERE v.id IS NOT NULL AND account_may_use(p_caller_id, v) AND (v.state = 'finished' OR v.kill_requested)
$$;

-- Asks the node to kill a sandbox. Returns the status for the API.
CREATE FUNCTION sandbox_request_kill(p_caller_id bigint, p_id uuid)
RETURNS TABLE (status text, message text, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_id FOR UPDATE;
    RETURN QUERY SELECT r.status, r.message, NULL::bigint FROM sandbox_refusal(p_caller_id, v) r;
    IF FOUND THEN RETURN; END IF;
    IF v.state = 'queued' THEN
        PERFORM sandbox_finish(p_id, 'cancelled', 'cancelled through the API');
        RETURN QUERY SELECT 'ok', NULL::text, NULL::bigint; RETURN;
    END IF;
    UPDATE sandboxes SET kill_requested = true WHERE id = p_id;
    RETURN QUERY SELECT 'ok', NULL::text, v.node_id;
END $$;

-- Sets a live sandbox's timeout to p_timeout_s seconds from its start (longer or shorter);
-- a running sandbox's expires_at moves with it, and its node moves its deadline at its next
-- round (woken by the caller). Returns the status for the API and the node to wake.
CREATE FUNCTION sandbox_set_timeout(p_caller_id bigint, p_id uuid, p_timeout_s integer)
RETURNS TABLE (status text, message text, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_id FOR UPDATE;
    RETURN QUERY SELECT r.status, r.message, NULL::bigint FROM sandbox_refusal(p_caller_id, v) r;
    IF FOUND THEN RETURN; END IF;
    UPDATE sandboxes SET timeout_s = p_timeout_s,
                         expires_at = started_at + p_timeout_s * interval '1 second'
    WHERE id = p_id;
    RETURN QUERY SELECT 'ok', NULL::text, v.node_id;
END $$;

-- Claims up to p_max due webhook deliveries for p_lease_s seconds (an attempt each). A replica
-- that dies mid-delivery lets the lease run out; another claims the delivery again. Returns
-- the deliveries with the secret that signs them.
CREATE FUNCTION webhook_claim(p_lease_s double precision, p_max integer)
RETURNS TABLE (id uuid, url text, body text, attempts integer, secret text)
LANGUAGE sql AS $$
    UPDATE webhook_deliveries d SET attempts = d.attempts + 1, leased_until = now() + p_lease_s * interval '1 second'
    FROM sandboxes s
    WHERE s.id = d.sandbox_id AND d.id IN (
        SELECT w.id FROM webhook_deliveries w
        WHERE w.state = 'pending' AND w.next_attempt_at <= now() AND (w.leased_until IS NULL OR w.leased_until < now())
        ORDER BY w.next_attempt_at LIMIT p_max FOR UPDATE SKIP LOCKED)
    RETURNING d.id, d.url, d.body, d.attempts, coalesce(s.webhook_secret, '')
$$;

-- Records an attempt's outcome ('delivered', 'retryable', 'permanent'), only from the replica
-- holding the lease of that attempt. A retryable failure is tried again after 2^attempts
-- seconds (at most p_max_backoff_s), until p_max_attempts attempts; then, like a permanent
-- failure, the delivery ends `failed`.
CREATE FUNCTION webhook_result(p_id uuid, p_attempt integer, p_outcome text, p_error text,
                               p_max_attempts integer, p_max_backoff_s double precision)
RETURNS void LANGUAGE sql AS $$
    UPDATE webhook_deliveries SET
        state = CASE WHEN p_outcome = 'delivered' THEN 'delivered'
                     WHEN p_outcome = 'permanent' OR attempts >= p_max_attempts THEN 'failed'
                     ELSE 'pending' END,
        finished_at = CASE WHEN p_outcome = 'retryable' AND attempts < p_max_attempts THEN NULL ELSE now() END,
        next_attempt_at = now() + least(power(2, attempts), p_max_backoff_s) * interval '1 second',
        leased_until = NULL,
        last_error = p_error
    WHERE id = p_id AND attempts = p_attempt AND state = 'pending'
$$;
