-- External users signing in through the organisation's OpenID Connect provider (SPEC 11).
-- A user is linked to the provider's (issuer, sub) once, at the first sign-in.
CREATE TABLE user_identities (
    issuer text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    linked_time bigint NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_by_user ON user_identities (user_id);

-- Sign-ins through the provider on their way, by SHA-256 digest of their secret: PENDING while
-- the browser is at the provider (the `state` sent there), then CODE, the one-time code the
-- server hands to the app's loopback address. Each row is taken (deleted) by its one use.
CREATE TABLE provider_sign_ins (
    hash bytea PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('PENDING', 'CODE')),
    provider text NOT NULL,
    nonce text,                              -- PENDING: the ID token must carry it
    redirect_uri text NOT NULL,              -- the app's loopback address
    client_state text NOT NULL,              -- the app's own state, handed back to it
    code_challenge text NOT NULL,            -- the app's PKCE challenge (S256)
    user_id text COLLATE "C" REFERENCES users (id) ON DELETE CASCADE,   -- CODE: who signed in
    expires_time bigint NOT NULL
);
