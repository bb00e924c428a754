-- Every state transition is one stored function: one round trip, one transaction.

-- A node whose heartbeat is older than this takes no new sandboxes.
CREATE FUNCTION node_heartbeat_bound() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '15 seconds' $$;

-- Registers a node (or re-registers it after a restart). Capacity changes apply only while
-- nothing is reserved on it, so reservations never exceed what the node had when they were made.
CREATE FUNCTION node_register(p_name text, p_type text, p_memory_mb integer, p_slots integer, p_address text DEFAULT '')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE v_id bigint;
BEGIN
    INSERT INTO nodes (name, node_type, memory_total_mb, slots_total, address)
    VALUES (p_name, p_type, p_memory_mb, p_slots, p_address)
    ON CONFLICT (name) DO UPDATE SET
        heartbeat_at    = now(),
        node_type       = EXCLUDED.node_type,
        address         = EXCLUDED.address,
        memory_total_mb = CASE WHEN nodes.memory_reserved_mb = 0 AND nodes.slots_reserved = 0
                               THEN EXCLUDED.memory_total_mb ELSE nodes.memory_total_mb END,
        slots_total     = CASE WHEN nodes.memory_reserved_mb = 0 AND nodes.slots_reserved = 0
                               THEN EXCLUDED.slots_total ELSE nodes.slots_total END
    RETURNING id INTO v_id;
    RETURN v_id;
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

-- Creates a sandbox and reserves its capacity on one live node, in one transaction.
-- Tries the free nodes no one else is locking first (SKIP LOCKED); if that finds none, waits
-- for the locked ones (FOR UPDATE re-checks each row after the wait), so a request is never
-- refused while some live node could take it.
CREATE FUNCTION sandbox_create(
    p_caller_id bigint, p_owner text, p_template text, p_memory_mb integer,
    p_timeout_s integer, p_whole_node boolean, p_node_type text)
RETURNS TABLE (status text, message text, sandbox_id uuid, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
    v_owner_id bigint;
    v_template templates;
    v_node nodes;
    v_memory integer;
    v_slots integer;
    v_id uuid;
BEGIN
    IF p_owner = 'me' THEN
        v_owner_id := p_caller_id;
    ELSE
        SELECT a.id INTO v_owner_id FROM accounts a
        WHERE a.name = p_owner AND (a.id = p_caller_id OR a.parent_id = p_caller_id);
        IF NOT FOUND THEN
            RETURN QUERY SELECT 'PermissionDenied', format('you may not create sandboxes for %s', p_owner), NULL::uuid, NULL::bigint;
            RETURN;
        END IF;
    END IF;

    v_template := template_resolve(p_caller_id, p_template);
    IF v_template.id IS NULL THEN
        RETURN QUERY SELECT 'TemplateDoesNotExist', format('no template %s', p_template), NULL::uuid, NULL::bigint;
        RETURN;
    END IF;
    IF NOT v_template.public AND v_template.owner_id IS DISTINCT FROM p_caller_id
       AND v_template.owner_id IS DISTINCT FROM v_owner_id THEN
        RETURN QUERY SELECT 'PermissionDenied', format('template %s is private', p_template), NULL::uuid, NULL::bigint;
        RETURN;
    END IF;
    IF p_memory_mb < v_template.min_memory_mb THEN
        RETURN QUERY SELECT 'NotEnoughMemoryRequested',
            format('template %s needs at least %s MB', v_template.name, v_template.min_memory_mb), NULL::uuid, NULL::bigint;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'QuotaExceeded', r, NULL::uuid, NULL::bigint FROM account_quota_refusal(v_owner_id, p_memory_mb) AS r WHERE r IS NOT NULL;
    IF FOUND THEN RETURN; END IF;

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

    IF NOT FOUND THEN
        IF NOT EXISTS (SELECT 1 FROM nodes n
                       WHERE NOT n.drained AND n.heartbeat_at > now() - node_heartbeat_bound()
                         AND (p_node_type IS NULL OR n.node_type = p_node_type)
                         AND n.memory_total_mb >= p_memory_mb AND n.slots_total > 0) THEN
            RETURN QUERY SELECT 'ResourceNotAvailable',
                CASE WHEN p_node_type IS NULL
                     THEN format('no live node has %s MB in total', p_memory_mb)
                     ELSE format('no live node of type %s has %s MB in total', p_node_type, p_memory_mb) END,
                NULL::uuid, NULL::bigint;
        ELSE
            RETURN QUERY SELECT 'ResourceNotAvailable', 'the cluster is full right now; retry later',
                NULL::uuid, NULL::bigint;
        END IF;
        RETURN;
    END IF;

    v_memory := CASE WHEN p_whole_node THEN v_node.memory_total_mb ELSE p_memory_mb END;
    v_slots  := CASE WHEN p_whole_node THEN v_node.slots_total ELSE 1 END;
    UPDATE nodes SET memory_reserved_mb = memory_reserved_mb + v_memory,
                     slots_reserved = slots_reserved + v_slots
    WHERE id = v_node.id;
    INSERT INTO sandboxes (owner_id, creator_id, template_id, node_id, state, memory_mb, timeout_s,
                           whole_node, reserved_memory_mb, reserved_slots)
    VALUES (v_owner_id, p_caller_id, v_template.id, v_node.id, 'assigned', p_memory_mb, p_timeout_s,
            p_whole_node, v_memory, v_slots)
    RETURNING id INTO v_id;
    RETURN QUERY SELECT 'ok', NULL::text, v_id, v_node.id;
END $$;

-- The node started the sandbox: its life starts now (database clock). Returns the seconds
-- left, or NULL when the sandbox is no longer assigned (killed or finished meanwhile).
CREATE FUNCTION sandbox_mark_running(p_id uuid, p_node_id bigint) RETURNS double precision
LANGUAGE sql AS $$
    UPDATE sandboxes SET state = 'running', started_at = now(), expires_at = now() + timeout_s * interval '1 second'
    WHERE id = p_id AND node_id = p_node_id AND state = 'assigned'
    RETURNING timeout_s::double precision
$$;

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
CREATE FUNCTION exec_create(p_caller_id bigint, p_sandbox_id uuid, p_args jsonb, p_stdin bytea, p_merge_stderr boolean)
RETURNS TABLE (status text, message text, exec_id bigint, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes; v_exec bigint;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_sandbox_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'SandboxDoesNotExist', 'no such sandbox', NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF NOT account_may_use(p_caller_id, v) THEN
        RETURN QUERY SELECT 'PermissionDenied', 'this sandbox belongs to another account', NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF v.state = 'finished' OR v.kill_requested THEN
        RETURN QUERY SELECT 'SandboxNoLongerAlive', 'the sandbox has finished', NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    IF (SELECT count(*) FROM execs e WHERE e.sandbox_id = p_sandbox_id AND e.state <> 'done') >= exec_unfinished_limit() THEN
        RETURN QUERY SELECT 'QueueFull', format('this sandbox already has %s commands waiting or running', exec_unfinished_limit()),
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    INSERT INTO execs (sandbox_id, args, stdin, merge_stderr) VALUES (p_sandbox_id, p_args, p_stdin, p_merge_stderr)
    RETURNING id INTO v_exec;
    RETURN QUERY SELECT 'ok', NULL::text, v_exec, v.node_id;
END $$;

-- The node ran a command: store its result and wake the gateway waiting for it.
CREATE FUNCTION exec_finish(p_id bigint, p_stdout bytea, p_stderr bytea, p_stdout_truncated boolean,
                            p_stderr_truncated boolean, p_exit_code integer, p_signal integer,
                            p_oom_killed boolean, p_error text)
RETURNS void LANGUAGE sql AS $$
    UPDATE execs SET state = 'done', stdout = p_stdout, stderr = p_stderr,
                     stdout_truncated = p_stdout_truncated, stderr_truncated = p_stderr_truncated,
                     exit_code = p_exit_code, signal = p_signal, oom_killed = p_oom_killed,
                     error = p_error, finished_at = now()
    WHERE id = p_id AND state = 'running';
    SELECT pg_notify('hera_gateway', 'exec:' || p_id);
$$;

-- May this account see and use this sandbox? Its owner, its creator, and the owner's parent may.
CREATE FUNCTION account_may_use(p_caller_id bigint, v sandboxes) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT v.owner_id = p_caller_id OR v.creator_id = p_caller_id
        OR EXISTS (SELECT 1 FROM accounts a WHERE a.id = v.owner_id AND a.parent_id = p_caller_id)
$$;

-- Asks the node to kill a sandbox. Returns the status for the API.
CREATE FUNCTION sandbox_request_kill(p_caller_id bigint, p_id uuid)
RETURNS TABLE (status text, message text, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'SandboxDoesNotExist', 'no such sandbox', NULL::bigint; RETURN;
    END IF;
    IF NOT account_may_use(p_caller_id, v) THEN
        RETURN QUERY SELECT 'PermissionDenied', 'this sandbox belongs to another account', NULL::bigint; RETURN;
    END IF;
    IF v.state = 'finished' THEN
        RETURN QUERY SELECT 'SandboxNoLongerAlive', 'the sandbox has finished', NULL::bigint; RETURN;
    END IF;
    UPDATE sandboxes SET kill_requested = true WHERE id = p_id;
    RETURN QUERY SELECT 'ok', NULL::text, v.node_id;
END $$;
