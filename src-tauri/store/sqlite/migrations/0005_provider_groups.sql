-- The group mapping of sign-in through the identity provider (SPEC 11), a setting: who is in
-- `claim` at the provider (a value of its groups claim) is a member of the group.
CREATE TABLE provider_groups (
    claim TEXT NOT NULL,
    group_id TEXT NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (claim, group_id)
) WITHOUT ROWID;
