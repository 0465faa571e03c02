-- External users signing in through the organisation's OpenID Connect provider (SPEC 11).
-- A user is linked to the provider's (issuer, sub) once, at the first sign-in.
CREATE TABLE user_identities (
    issuer TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_time INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) WITHOUT ROWID;
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- Sign-ins through the provider on their way, by SHA-256 digest of their secret: PENDING while
-- the browser is at the provider (the `state` sent there), then CODE, the one-time code the
-- server hands to the app's loopback address. Each row is taken (deleted) by its one use.
CREATE TABLE provider_sign_ins (
    hash BLOB PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('PENDING', 'CODE')),
    provider TEXT NOT NULL,
    nonce TEXT,                              -- PENDING: the ID token must carry it
    redirect_uri TEXT NOT NULL,              -- the app's loopback address
    client_state TEXT NOT NULL,              -- the app's own state, handed back to it
    code_challenge TEXT NOT NULL,            -- the app's PKCE challenge (S256)
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,   -- CODE: who signed in
    expires_time INTEGER NOT NULL
) WITHOUT ROWID;
