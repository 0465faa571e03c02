-- Messages the directory sends (invitations, resets, key expiry warnings) and how each
-- stands. Never the text or link: a link lives in the sender's memory only, until it is sent.
CREATE TABLE mail_deliveries (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_id TEXT REFERENCES api_keys (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('INVITATION', 'PASSWORD_RESET',
                                       'KEY_EXPIRES_IN_14_DAYS', 'KEY_EXPIRES_IN_1_DAY')),
    recipient TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('SENDING', 'SENT', 'FAILED', 'NOT_SENT')),
    reason TEXT,
    attempts INTEGER NOT NULL,
    created_time INTEGER NOT NULL,
    updated_time INTEGER NOT NULL,
    next_attempt_time INTEGER,              -- set while a sender means to try (again)
    sender_id TEXT                          -- the server holding it then (mail_senders)
) WITHOUT ROWID;
CREATE INDEX mail_deliveries_by_user ON mail_deliveries (user_id, created_time);
-- One warning of each kind per key, whoever sends it.
CREATE UNIQUE INDEX mail_deliveries_per_key ON mail_deliveries (key_id, kind)
    WHERE key_id IS NOT NULL;
CREATE INDEX mail_deliveries_pending ON mail_deliveries (sender_id)
    WHERE next_attempt_time IS NOT NULL;
-- The servers sending mail, each alive until its last heartbeat says: a delivery held by a
-- server that stopped beating is taken over by another.
CREATE TABLE mail_senders (
    id TEXT PRIMARY KEY,
    alive_until INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX api_keys_by_expiry ON api_keys (expires_time)
    WHERE expires_time IS NOT NULL;
