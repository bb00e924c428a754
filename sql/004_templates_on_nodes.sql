-- Templates live on nodes. A node holds a template when the template's root filesystem
-- directory exists on it; each node reports what it holds (template_nodes), and placement
-- considers only the nodes that hold the sandbox's template. A template can also be made from
-- a running sandbox: it is 'creating' (no root filesystem yet) until the sandbox's node has
-- copied the sandbox's filesystem into its template store. `hera template import` registers
-- its template 'creating' too, with the path it is about to fill. A 'creating' template is
-- placed nowhere.

ALTER TABLE templates ALTER COLUMN rootfs DROP NOT NULL;
ALTER TABLE templates ADD COLUMN state text NOT NULL DEFAULT 'ready' CHECK (state IN ('creating', 'ready'));
ALTER TABLE templates ADD COLUMN size_mb integer CHECK (size_mb >= 0);       -- disk used, for saved templates (else NULL)
ALTER TABLE templates ADD COLUMN size_files integer CHECK (size_files >= 0); -- files and directories, likewise
ALTER TABLE templates ADD CONSTRAINT templates_ready_have_rootfs CHECK (state = 'creating' OR rootfs IS NOT NULL);

-- An all-digit name would read as an id. NOT VALID: rows from before are left as they are.
ALTER TABLE templates ADD CONSTRAINT templates_name_not_an_id CHECK (name !~ '^[0-9]+$') NOT VALID;

CREATE TABLE template_nodes (
    template_id  bigint NOT NULL REFERENCES templates(id) ON DELETE CASCADE,
    node_id      bigint NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,
    since        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (template_id, node_id)
);
CREATE INDEX template_nodes_by_node ON template_nodes (node_id);

-- The template this sandbox is being saved as (POST /sandbox/:id/create_template).
ALTER TABLE sandboxes ADD COLUMN capture_template_id bigint REFERENCES templates(id) ON DELETE SET NULL;

DROP FUNCTION node_reserve(integer, boolean, text);
DROP FUNCTION node_can_take(nodes, integer, boolean, text);
DROP FUNCTION node_never_fits(integer, text);

-- Could this node take a sandbox of this size and template right now? Live, not drained, of
-- the asked type, holding the template, a free slot and enough free memory; for a whole-node
-- sandbox, nothing else on it.
CREATE FUNCTION node_can_take(n nodes, p_memory_mb integer, p_whole_node boolean, p_node_type text, p_template_id bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT n.drained AND n.heartbeat_at > now() - node_heartbeat_bound()
       AND (p_node_type IS NULL OR n.node_type = p_node_type)
       AND EXISTS (SELECT 1 FROM template_nodes tn WHERE tn.template_id = p_template_id AND tn.node_id = n.id)
       AND n.slots_reserved < n.slots_total
       AND CASE WHEN p_whole_node
                THEN n.memory_reserved_mb = 0 AND n.slots_reserved = 0 AND n.memory_total_mb >= p_memory_mb
                ELSE n.memory_total_mb - n.memory_reserved_mb >= p_memory_mb END
$$;

-- Reserves room for a sandbox on one live node and returns that node and what was reserved,
-- or no row when no node can take it now. Tries the free nodes no one else is locking first
-- (SKIP LOCKED); if that finds none, waits for the locked ones (FOR UPDATE re-checks each row
-- after the wait), so a request is never refused while some live node could take it.
CREATE FUNCTION node_reserve(p_memory_mb integer, p_whole_node boolean, p_node_type text, p_template_id bigint)
RETURNS TABLE (node_id bigint, reserved_memory_mb integer, reserved_slots integer)
LANGUAGE plpgsql AS $$
DECLARE v_node nodes; v_memory integer; v_slots integer;
BEGIN
    SELECT n.* INTO v_node FROM nodes n
    WHERE node_can_take(n, p_memory_mb, p_whole_node, p_node_type, p_template_id)
    ORDER BY n.memory_total_mb - n.memory_reserved_mb, n.id
    LIMIT 1 FOR UPDATE SKIP LOCKED;
    IF NOT FOUND THEN
        SELECT n.* INTO v_node FROM nodes n
        WHERE node_can_take(n, p_memory_mb, p_whole_node, p_node_type, p_template_id)
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

-- Why no live node could ever take this request (the template is on no live node, too big,
-- or no node of the type), else NULL.
CREATE FUNCTION node_never_fits(p_memory_mb integer, p_node_type text, p_template templates) RETURNS text
LANGUAGE sql STABLE AS $$
    WITH live AS (
        SELECT n.* FROM nodes n
        WHERE NOT n.drained AND n.heartbeat_at > now() - node_heartbeat_bound()
          AND (p_node_type IS NULL OR n.node_type = p_node_type)
          AND EXISTS (SELECT 1 FROM template_nodes tn WHERE tn.template_id = p_template.id AND tn.node_id = n.id))
    SELECT CASE
        WHEN p_template.state = 'creating' THEN format('template %s is still being saved from its sandbox; retry in a moment', p_template.name)
        WHEN NOT EXISTS (SELECT 1 FROM live) THEN
            CASE WHEN p_node_type IS NULL THEN format('no live node holds template %s', p_template.name)
                 ELSE format('no live node of type %s holds template %s', p_node_type, p_template.name) END
        WHEN EXISTS (SELECT 1 FROM live WHERE memory_total_mb >= p_memory_mb AND slots_total > 0) THEN NULL
        WHEN p_node_type IS NULL THEN format('no live node holding template %s has %s MB in total', p_template.name, p_memory_mb)
        ELSE format('no live node of type %s holding template %s has %s MB in total', p_node_type, p_template.name, p_memory_mb) END
$$;

-- A node run reports, of the templates it looked at, those it holds (their root filesystem
-- directories exist on it) and those it does not. Holdings of templates it did not look at (one
-- saved meanwhile) stand. Returns false when the run has been fenced off.
CREATE FUNCTION node_templates_report(p_node_id bigint, p_epoch bigint, p_template_ids bigint[], p_missing_ids bigint[])
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM nodes WHERE id = p_node_id AND epoch = p_epoch) THEN
        RETURN false;
    END IF;
    DELETE FROM template_nodes WHERE node_id = p_node_id AND template_id = ANY (p_missing_ids);
    INSERT INTO template_nodes (template_id, node_id)
    SELECT t.id, p_node_id FROM templates t WHERE t.id = ANY (p_template_ids) AND t.state = 'ready'
    ON CONFLICT DO NOTHING;
    RETURN true;
END $$;

-- Saves a running sandbox as a new private template of the caller's: the template row is made
-- now ('creating', answering its id and reserving its name), the sandbox is asked to end, and
-- its node copies the filesystem first (node_template_saved). Should the sandbox end without
-- that, sandbox_finish removes the unfinished template. The caller may own p_max_templates, and
-- start a save while its saved templates take less than p_max_template_mb of disk and
-- p_max_template_files files, and while no other save of its is in progress (so the sizes it
-- is checked against are known). Returns the status for the API, the template and the node to wake.
CREATE FUNCTION sandbox_save_as_template(p_caller_id bigint, p_id uuid, p_name text, p_max_templates integer,
                                         p_max_template_mb integer, p_max_template_files integer)
RETURNS TABLE (status text, message text, template_id bigint, node_id bigint)
LANGUAGE plpgsql AS $$
DECLARE v sandboxes; v_name text; v_template_id bigint; v_refusal text;
BEGIN
    SELECT * INTO v FROM sandboxes WHERE id = p_id FOR UPDATE;
    RETURN QUERY SELECT r.status, r.message, NULL::bigint, NULL::bigint FROM sandbox_refusal(p_caller_id, v) r;
    IF FOUND THEN RETURN; END IF;
    IF v.state <> 'running' THEN
        RETURN QUERY SELECT 'SandboxNotRunning', format('the sandbox is %s; only a running sandbox can be saved as a template', v.state),
            NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    -- Serialise the caller's template count with its other saves.
    PERFORM 1 FROM accounts WHERE id = p_caller_id FOR UPDATE;
    SELECT CASE
        WHEN count(*) >= p_max_templates THEN
            format('you already own %s templates, the most an account may; an operator can remove some', p_max_templates)
        WHEN bool_or(state = 'creating') THEN 'a save of yours is in progress; an account saves one sandbox at a time'
        WHEN coalesce(sum(size_mb), 0) >= p_max_template_mb THEN
            format('your saved templates take %s MB or more of disk, the most an account may; an operator can remove some', p_max_template_mb)
        WHEN coalesce(sum(size_files), 0) >= p_max_template_files THEN
            format('your saved templates hold %s files or more, the most an account may; an operator can remove some', p_max_template_files)
        END INTO v_refusal
    FROM templates WHERE owner_id = p_caller_id;
    IF v_refusal IS NOT NULL THEN
        RETURN QUERY SELECT 'QuotaExceeded', v_refusal, NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    v_name := coalesce(p_name, 'sandbox-' || left(p_id::text, 8));
    INSERT INTO templates (owner_id, name, rootfs, public, min_memory_mb, state)
    SELECT p_caller_id, v_name, NULL, false, t.min_memory_mb, 'creating' FROM templates t WHERE t.id = v.template_id
    ON CONFLICT DO NOTHING
    RETURNING id INTO v_template_id;
    IF v_template_id IS NULL THEN
        RETURN QUERY SELECT 'MalformedRequest', format('you already have a template named %s', v_name), NULL::bigint, NULL::bigint;
        RETURN;
    END IF;
    UPDATE sandboxes SET kill_requested = true, capture_template_id = v_template_id WHERE id = p_id;
    RETURN QUERY SELECT 'ok', NULL::text, v_template_id, v.node_id;
END $$;

-- The node has copied the sandbox's filesystem to p_rootfs (p_size_mb of disk, p_size_files
-- files): the template is ready, and held by this node. Returns the template id, or NULL when
-- the run was fenced off or the template is gone.
CREATE FUNCTION node_template_saved(p_node_id bigint, p_epoch bigint, p_sandbox_id uuid, p_rootfs text, p_size_mb integer,
                                    p_size_files integer)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE v_template_id bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM nodes WHERE id = p_node_id AND epoch = p_epoch) THEN
        RETURN NULL;
    END IF;
    UPDATE templates t SET rootfs = p_rootfs, state = 'ready', size_mb = p_size_mb, size_files = p_size_files
    FROM sandboxes s
    WHERE s.id = p_sandbox_id AND s.node_id = p_node_id AND s.state <> 'finished'
      AND t.id = s.capture_template_id AND t.state = 'creating'
    RETURNING t.id INTO v_template_id;
    IF v_template_id IS NULL THEN RETURN NULL; END IF;
    INSERT INTO template_nodes (template_id, node_id) VALUES (v_template_id, p_node_id);
    RETURN v_template_id;
END $$;

-- sandbox_finish, as in 002, and: a template the sandbox was being saved as that never got
-- its filesystem is removed.
CREATE OR REPLACE FUNCTION sandbox_finish(p_id uuid, p_reason text, p_detail text) RETURNS boolean
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
    IF v.capture_template_id IS NOT NULL THEN
        DELETE FROM templates WHERE id = v.capture_template_id AND state = 'creating';
    END IF;
    PERFORM pg_notify('hera_gateway', 'sandbox:' || p_id);
    RETURN true;
END $$;

-- sandbox_create and queue_assign, as in 002, placing only on nodes that hold the template.
-- Creates a sandbox: checks the owner and the template, then reserves room on a node in the
-- same transaction. When no node has room: with p_async the request waits in the queue
-- (unless no node could ever take it, or the owner already has p_max_queued waiting), else
-- ResourceNotAvailable. An async request also queues, instead of taking room, while some
-- queued request has waited p_backfill_limit_s (see queue_assign): new arrivals must not
-- starve it either. Sync requests are "now or never" and do not look at the queue.
CREATE OR REPLACE FUNCTION sandbox_create(
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
        FROM node_reserve(p_memory_mb, p_whole_node, p_node_type, v_template.id) r;
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

    v_never := node_never_fits(p_memory_mb, p_node_type, v_template);
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
CREATE OR REPLACE FUNCTION queue_assign(p_backfill_limit_s double precision, p_max integer)
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
        FROM node_reserve(v.memory_mb, v.whole_node, v.node_type, v.template_id) r;
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

-- sandbox_refusal, as in 002, telling a sandbox that is ending (killed, or being saved as a
-- template) from one that has finished.
CREATE OR REPLACE FUNCTION sandbox_refusal(p_caller_id bigint, v sandboxes) RETURNS TABLE (status text, message text)
LANGUAGE sql STABLE AS $$
    SELECT 'SandboxDoesNotExist', 'no such sandbox' WHERE v.id IS NULL
    UNION ALL
    SELECT 'PermissionDenied', 'this sandbox belongs to another account' WHERE v.id IS NOT NULL AND NOT account_may_use(p_caller_id, v)
    UNION ALL
    SELECT 'SandboxNoLongerAlive',
           CASE WHEN v.state = 'finished' THEN 'the sandbox has finished'
                WHEN v.capture_template_id IS NOT NULL THEN 'the sandbox is ending: it is being saved as a template'
                ELSE 'the sandbox is ending: it was killed' END
    WHERE v.id IS NOT NULL AND account_may_use(p_caller_id, v) AND (v.state = 'finished' OR v.kill_requested)
$$;
