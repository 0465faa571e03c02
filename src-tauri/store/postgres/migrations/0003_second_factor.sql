-- Two-step sign-in (SPEC 10). The TOTP secret is sealed (AES-256-GCM under a key kept
-- outside the database, see core::sealing): never stored in plain text.
CREATE TABLE second_factors (
    user_id text COLLATE "C" PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret bytea NOT NULL,
    confirmed boolean NOT NULL,            -- false while the user is still enrolling
    last_step bigint,                      -- the time step of the last code accepted (no replay)
    created_time bigint NOT NULL
);

-- One-time recovery codes, by HMAC-SHA256 under the sealing key (a copy of the database alone
-- cannot be searched against them).
CREATE TABLE recovery_codes (
    hash bytea PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX recovery_codes_by_user ON recovery_codes (user_id);

-- A password accepted and a second step (a code, or enrolment) still to come, by SHA-256
-- digest of its token.
CREATE TABLE sign_in_challenges (
    hash bytea PRIMARY KEY,
    user_id text COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('CODE', 'ENROLL')),
    expires_time bigint NOT NULL
);
CREATE INDEX sign_in_challenges_by_user ON sign_in_challenges (user_id);

ALTER TABLE settings ADD COLUMN second_factor text NOT NULL DEFAULT 'OPTIONAL'
    CHECK (second_factor IN ('OPTIONAL', 'REQUIRED_FOR_ADMINS', 'REQUIRED'));
