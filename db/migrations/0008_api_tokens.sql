-- API tokens (PRODUCT.md §2.9). The token itself is shown once; only its SHA-256 is kept. A
-- token acts for its creator, never beyond the creator's current access, so no permission is
-- stored here: scopes only narrow what the creator may do through it.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    name         TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    org_id       INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_by   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    scopes       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_org ON api_tokens(org_id);
