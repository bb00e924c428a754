-- Hera's tables. Every state invariant the database can hold is a constraint here.

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    key_hash    bytea NOT NULL CHECK (length(key_hash) = 32),   -- SHA-256 of the API key; the key itself is never stored
    parent_id   bigint REFERENCES accounts(id),                  -- a parent may act for this account
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);

CREATE TABLE templates (
    id             bigserial PRIMARY KEY,
    owner_id       bigint REFERENCES accounts(id),               -- NULL: a system template
    name           text NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    rootfs         text NOT NULL CHECK (rootfs LIKE '/%'),        -- root filesystem directory, present on the nodes
    public         boolean NOT NULL DEFAULT false,
    min_memory_mb  integer NOT NULL DEFAULT 16 CHECK (min_memory_mb > 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (owner_id, name)
);

CREATE TABLE nodes (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL UNIQUE,
    address             text NOT NULL DEFAULT '',                 -- where operators reach the machine
    node_type           text NOT NULL,
    memory_total_mb     integer NOT NULL CHECK (memory_total_mb >= 0),
    memory_reserved_mb  integer NOT NULL DEFAULT 0,
    slots_total         integer NOT NULL CHECK (slots_total >= 0),
    slots_reserved      integer NOT NULL DEFAULT 0,
    drained             boolean NOT NULL DEFAULT false,
    epoch               bigint NOT NULL DEFAULT 1,                -- bumped when the node (re)registers or is declared lost;
                                                                 -- a node run writes only while its epoch is current
    heartbeat_at        timestamptz NOT NULL DEFAULT now(),
    registered_at       timestamptz NOT NULL DEFAULT now(),
    CHECK (memory_reserved_mb BETWEEN 0 AND memory_total_mb),
    CHECK (slots_reserved BETWEEN 0 AND slots_total)
);

CREATE TABLE sandboxes (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_id            bigint NOT NULL REFERENCES accounts(id),
    creator_id          bigint NOT NULL REFERENCES accounts(id),
    template_id         bigint NOT NULL REFERENCES templates(id),
    node_id             bigint REFERENCES nodes(id),
    state               text NOT NULL CHECK (state IN ('queued', 'assigned', 'running', 'finished')),
    finish_reason       text CHECK (finish_reason IN ('exited', 'expired', 'killed', 'oom', 'failed', 'lost', 'cancelled')),
    finish_detail       text,
    memory_mb           integer NOT NULL CHECK (memory_mb > 0),
    timeout_s           integer NOT NULL CHECK (timeout_s > 0),
    whole_node          boolean NOT NULL DEFAULT false,
    reserved_memory_mb  integer NOT NULL DEFAULT 0 CHECK (reserved_memory_mb >= 0),   -- what this sandbox holds on its node
    reserved_slots      integer NOT NULL DEFAULT 0 CHECK (reserved_slots >= 0),
    kill_requested      boolean NOT NULL DEFAULT false,
    node_type           text,                                     -- asked for: only nodes of this type qualify
    priority            integer NOT NULL DEFAULT 0,               -- queue order: lower first
    priority_growth     double precision NOT NULL DEFAULT 0 CHECK (priority_growth >= 0),  -- aging per second waited
    queue_deadline      timestamptz,                              -- still queued then: cancelled (queue_timeout)
    webhook_url         text,
    webhook_secret      text,
    cpu_seconds         double precision CHECK (cpu_seconds >= 0),     -- reported by the node at the end;
    peak_memory_mb      integer CHECK (peak_memory_mb >= 0),           -- NULL where it could not say
    labels              jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(labels) = 'object'),  -- the client's key/value tags
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    expires_at          timestamptz,
    finished_at         timestamptz,
    CHECK ((state = 'finished') = (finish_reason IS NOT NULL)),
    CHECK ((state = 'finished') = (finished_at IS NOT NULL)),
    CHECK (state NOT IN ('assigned', 'running') OR node_id IS NOT NULL),
    CHECK (state <> 'running' OR (started_at IS NOT NULL AND expires_at IS NOT NULL))
);
CREATE INDEX sandboxes_live_by_node ON sandboxes (node_id, state) WHERE state IN ('assigned', 'running');
CREATE INDEX sandboxes_by_owner ON sandboxes (owner_id, created_at DESC);
CREATE INDEX sandboxes_queued ON sandboxes (created_at) WHERE state = 'queued';
CREATE INDEX sandboxes_labels ON sandboxes USING gin (labels jsonb_path_ops);

-- Webhook deliveries: an outbox. Any gateway replica may claim a due delivery for a lease;
-- a replica that dies mid-delivery lets its lease run out and another one retries.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),    -- sent as the delivery id, the same on every attempt
    sandbox_id      uuid NOT NULL REFERENCES sandboxes(id),
    url             text NOT NULL,
    body            text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_until    timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE state = 'pending';

CREATE TABLE execs (
    id           bigserial PRIMARY KEY,
    sandbox_id   uuid NOT NULL REFERENCES sandboxes(id),
    args         jsonb NOT NULL CHECK (jsonb_typeof(args) = 'array'),
    stdin        bytea NOT NULL DEFAULT '',
    env          jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(env) = 'object'),  -- added to the default environment
    cwd          text NOT NULL DEFAULT '/' CHECK (cwd LIKE '/%'),
    output_limit integer CHECK (output_limit > 0),                -- bytes kept per stream; NULL: the node's default
    merge_stderr boolean NOT NULL DEFAULT false,                  -- stderr goes into stdout
    is_main      boolean NOT NULL DEFAULT false,                  -- the sandbox's main command: it ends the sandbox
    timeout_s    double precision CHECK (timeout_s > 0),          -- kill its whole process tree after this long
    state        text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
    stdout       bytea,                                           -- grows while it runs (live output), final at 'done'
    stderr       bytea,
    stdout_truncated boolean,
    stderr_truncated boolean,
    exit_code    integer,
    signal       integer,
    oom_killed   boolean,
    timed_out    boolean,
    wall_seconds       double precision,                          -- what the node measured; NULL where the
    cpu_user_seconds   double precision,                          -- kernel could not say
    cpu_system_seconds double precision,
    peak_memory_bytes  bigint,
    peak_pids          integer,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    CHECK ((state = 'done') = (finished_at IS NOT NULL))
);
CREATE INDEX execs_pending ON execs (sandbox_id) WHERE state = 'pending';
CREATE INDEX execs_unfinished ON execs (sandbox_id) WHERE state <> 'done';
CREATE INDEX execs_by_sandbox ON execs (sandbox_id);
