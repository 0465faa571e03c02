-- Keyward directory on PostgreSQL, schema 1: the tables of the SQLite schema, in PostgreSQL's
-- types. Times are integer milliseconds since the Unix epoch (UTC), as in the file. Columns
-- ending in _key hold the case-folded value that uniqueness and sorting use; they and the ids
-- compare byte by byte (COLLATE "C"), as SQLite does, whatever the database's locale.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE roles (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    name_key text COLLATE "C" NOT NULL CONSTRAINT roles_name_unique UNIQUE,
    description text NOT NULL DEFAULT '',
    permissions bigint NOT NULL,           -- bit mask, see core::permission
    builtin boolean NOT NULL DEFAULT false,
    created_time bigint NOT NULL,
    last_updated_time bigint NOT NULL,
    update_version bigint NOT NULL DEFAULT 1
);

CREATE TABLE users (
    id text COLLATE "C" PRIMARY KEY,
    user_name text NOT NULL,
    user_name_key text COLLATE "C" NOT NULL CONSTRAINT users_user_name_unique UNIQUE,
    display_name text NOT NULL,
    display_name_key text COLLATE "C" NOT NULL,
    email text NOT NULL,
    email_key text COLLATE "C" NOT NULL CONSTRAINT users_email_unique UNIQUE,
    status text NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE', 'INVITED')),
    type text NOT NULL CHECK (type IN ('NATIVE', 'EXTERNAL')),
    password_hash text,                    -- argon2id PHC string; NULL for invited/external
    created_time bigint NOT NULL,
    last_updated_time bigint NOT NULL,
    last_login_time bigint,
    update_version bigint NOT NULL DEFAULT 1,
    -- The case-folded text substring search looks in, with a trigram index over it.
    search text COLLATE "C" GENERATED ALWAYS AS
        (user_name_key || ' ' || display_name_key || ' ' || email_key) STORED
);
CREATE INDEX users_by_display_name ON users (display_name_key, id);
CREATE INDEX users_by_status ON users (status, user_name_key);
CREATE INDEX users_by_created ON users (created_time, id);
CREATE INDEX users_by_last_login ON users (last_login_time, id);
CREATE INDEX users_search ON users USING gin (search gin_trgm_ops);

CREATE TABLE user_roles (
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id text COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_by_role ON user_roles (role_id, user_id);

CREATE TABLE directory_groups (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    name_key text COLLATE "C" NOT NULL CONSTRAINT groups_name_unique UNIQUE,
    description text NOT NULL DEFAULT '',
    created_time bigint NOT NULL,
    last_updated_time bigint NOT NULL,
    update_version bigint NOT NULL DEFAULT 1
);

CREATE TABLE group_members (
    group_id text COLLATE "C" NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

CREATE TABLE group_roles (
    group_id text COLLATE "C" NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    role_id text COLLATE "C" NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
);
CREATE INDEX group_roles_by_role ON group_roles (role_id, group_id);

CREATE TABLE api_keys (
    id text COLLATE "C" PRIMARY KEY,
    owner_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name text NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    description text NOT NULL DEFAULT '',
    prefix text,
    status text NOT NULL CHECK (status IN ('PENDING', 'ENABLED', 'REVOKED')),
    created_time bigint NOT NULL,
    created_by text,                       -- a user id; no foreign key: creators may be deleted
    expires_time bigint,
    last_used_time bigint,
    revoked_time bigint,
    revoked_by text,
    CONSTRAINT api_keys_name_unique UNIQUE (owner_id, name_key)
);
CREATE INDEX api_keys_by_created ON api_keys (created_time, id);

-- SHA-256 digests of key secrets. not_after is NULL for a key's current secret and set for a
-- replaced secret that still verifies during a grace period.
CREATE TABLE key_secrets (
    hash bytea PRIMARY KEY,
    key_id text COLLATE "C" NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    not_after bigint
);
CREATE INDEX key_secrets_by_key ON key_secrets (key_id);

CREATE TABLE sessions (
    hash bytea PRIMARY KEY,                -- SHA-256 of the session token
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_time bigint NOT NULL,
    expires_time bigint NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time invitation and password-reset tokens, by SHA-256 digest.
CREATE TABLE user_tokens (
    hash bytea PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('INVITE', 'RESET')),
    expires_time bigint NOT NULL
);
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, kind);

-- Failed sign-ins by case-folded user name, whether or not such a user exists.
CREATE TABLE sign_in_failures (
    user_name_key text COLLATE "C" PRIMARY KEY,
    failures integer NOT NULL,
    last_failure_time bigint NOT NULL
);

CREATE TABLE settings (
    id integer PRIMARY KEY CHECK (id = 1),
    api_key_auth_enabled boolean NOT NULL,
    max_key_lifetime_days integer,
    password_min_length integer NOT NULL,
    clipboard_clear_seconds integer NOT NULL,
    session_lifetime_minutes integer NOT NULL,
    lockout_threshold integer NOT NULL,
    update_version bigint NOT NULL DEFAULT 1
);
INSERT INTO settings VALUES (1, true, NULL, 15, 30, 720, 5, 1);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time bigint NOT NULL,
    actor_id text,
    actor_name text,
    action text COLLATE "C" NOT NULL,
    target_type text,
    target_id text,
    target_name text,
    outcome text NOT NULL CHECK (outcome IN ('SUCCESS', 'DENIED', 'FAILURE')),
    detail text
);
CREATE INDEX audit_by_actor ON audit_log (lower(actor_name COLLATE "C"), id);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE INDEX audit_by_time ON audit_log (time);
CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_refuses_changes BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_refuses_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
