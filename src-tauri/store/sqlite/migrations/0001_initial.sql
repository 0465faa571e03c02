-- Keyward directory, schema 1. Times are integer milliseconds since the Unix epoch (UTC).
-- Columns ending in _key hold the case-folded value that uniqueness and sorting use.

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    permissions INTEGER NOT NULL,          -- bit mask, see core::permission
    builtin INTEGER NOT NULL DEFAULT 0,
    created_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    update_version INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;

-- seq is the stable integer key the search index refers to (an implicit rowid may be
-- renumbered by VACUUM); id is the public identifier.
CREATE TABLE users (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    email TEXT NOT NULL,
    email_key TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL CHECK (status IN ('ACTIVE', 'INACTIVE', 'INVITED')),
    type TEXT NOT NULL CHECK (type IN ('NATIVE', 'EXTERNAL')),
    password_hash TEXT,                    -- argon2id PHC string; NULL for invited/external
    created_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    last_login_time INTEGER,
    update_version INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX users_by_display_name ON users (display_name_key, id);
CREATE INDEX users_by_status ON users (status, user_name_key);
CREATE INDEX users_by_created ON users (created_time, id);
CREATE INDEX users_by_last_login ON users (last_login_time, id);

-- Substring search over user name, display name and e-mail: the case-folded text of each
-- user in a narrow table (scanned for queries of one or two characters) and a trigram index
-- over it (for three characters or more).
CREATE TABLE user_search (
    user_seq INTEGER PRIMARY KEY,
    text TEXT NOT NULL
);
CREATE VIRTUAL TABLE users_search USING fts5 (
    text, content = 'user_search', content_rowid = 'user_seq', tokenize = 'trigram'
);
CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN
    INSERT INTO user_search (user_seq, text)
    VALUES (new.seq, new.user_name_key || ' ' || new.display_name_key || ' ' || new.email_key);
    INSERT INTO users_search (rowid, text)
    VALUES (new.seq, new.user_name_key || ' ' || new.display_name_key || ' ' || new.email_key);
END;
CREATE TRIGGER users_search_update AFTER UPDATE OF user_name_key, display_name_key, email_key ON users BEGIN
    INSERT INTO users_search (users_search, rowid, text)
    SELECT 'delete', user_seq, text FROM user_search WHERE user_seq = old.seq;
    UPDATE user_search
    SET text = new.user_name_key || ' ' || new.display_name_key || ' ' || new.email_key
    WHERE user_seq = new.seq;
    INSERT INTO users_search (rowid, text)
    VALUES (new.seq, new.user_name_key || ' ' || new.display_name_key || ' ' || new.email_key);
END;
CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN
    INSERT INTO users_search (users_search, rowid, text)
    SELECT 'delete', user_seq, text FROM user_search WHERE user_seq = old.seq;
    DELETE FROM user_search WHERE user_seq = old.seq;
END;

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
) WITHOUT ROWID;
CREATE INDEX user_roles_by_role ON user_roles (role_id, user_id);

CREATE TABLE directory_groups (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    created_time INTEGER NOT NULL,
    last_updated_time INTEGER NOT NULL,
    update_version INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE group_members (
    group_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_user ON group_members (user_id, group_id);

CREATE TABLE group_roles (
    group_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, role_id)
) WITHOUT ROWID;
CREATE INDEX group_roles_by_role ON group_roles (role_id, group_id);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    owner_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    prefix TEXT,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'ENABLED', 'REVOKED')),
    created_time INTEGER NOT NULL,
    created_by TEXT,                       -- a user id; no foreign key: creators may be deleted
    expires_time INTEGER,
    last_used_time INTEGER,
    revoked_time INTEGER,
    revoked_by TEXT,
    UNIQUE (owner_id, name_key)
) WITHOUT ROWID;
CREATE INDEX api_keys_by_created ON api_keys (created_time, id);

-- SHA-256 digests of key secrets. not_after is NULL for a key's current secret and set for a
-- replaced secret that still verifies during a grace period.
CREATE TABLE key_secrets (
    hash BLOB PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    not_after INTEGER
) WITHOUT ROWID;
CREATE INDEX key_secrets_by_key ON key_secrets (key_id);

CREATE TABLE sessions (
    hash BLOB PRIMARY KEY,                 -- SHA-256 of the session token
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_time INTEGER NOT NULL,
    expires_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_by_user ON sessions (user_id);

-- One-time invitation and password-reset tokens, by SHA-256 digest.
CREATE TABLE user_tokens (
    hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('INVITE', 'RESET')),
    expires_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX user_tokens_by_user ON user_tokens (user_id, kind);

-- Failed sign-ins by case-folded user name, whether or not such a user exists.
CREATE TABLE sign_in_failures (
    user_name_key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure_time INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    api_key_auth_enabled INTEGER NOT NULL,
    max_key_lifetime_days INTEGER,
    password_min_length INTEGER NOT NULL,
    clipboard_clear_seconds INTEGER NOT NULL,
    session_lifetime_minutes INTEGER NOT NULL,
    lockout_threshold INTEGER NOT NULL,
    update_version INTEGER NOT NULL DEFAULT 1
);
INSERT INTO settings VALUES (1, 1, NULL, 15, 30, 720, 5, 1);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    actor_id TEXT,
    actor_name TEXT,
    action TEXT NOT NULL,
    target_type TEXT,
    target_id TEXT,
    target_name TEXT,
    outcome TEXT NOT NULL CHECK (outcome IN ('SUCCESS', 'DENIED', 'FAILURE')),
    detail TEXT
);
CREATE INDEX audit_by_actor ON audit_log (actor_name, id);
CREATE INDEX audit_by_action ON audit_log (action, id);
CREATE INDEX audit_by_time ON audit_log (time);
CREATE TRIGGER audit_log_is_append_only_update BEFORE UPDATE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_is_append_only_delete BEFORE DELETE ON audit_log BEGIN
    SELECT RAISE (ABORT, 'the audit log is append-only');
END;
