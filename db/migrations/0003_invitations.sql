-- An invitation to become staff of an organisation with a role. The link carries a random
-- token; only its SHA-256 is stored. Resending replaces the hash, so the old link dies.
-- An invitation is pending while accepted_at and revoked_at are NULL (and usable while
-- expires_at is in the future).
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  BLOB    NOT NULL UNIQUE,
    email       TEXT    NOT NULL COLLATE NOCASE,
    name        TEXT    NOT NULL,
    org_id      INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    role_id     INTEGER REFERENCES roles(id) ON DELETE SET NULL,
    invited_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    accepted_at INTEGER,
    accepted_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    revoked_at  INTEGER,
    revoked_by  INTEGER REFERENCES users(id) ON DELETE SET NULL
);
-- One pending invitation per person and organisation, even for racing requests.
CREATE UNIQUE INDEX invitations_pending ON invitations(org_id, email)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
CREATE INDEX invitations_name ON invitations(name COLLATE NOCASE)
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
