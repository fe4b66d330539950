-- Organisations form a tree; the first one is created by setup.
CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY,
    parent_id  INTEGER REFERENCES organisations(id) ON DELETE RESTRICT,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX organisations_parent ON organisations(parent_id);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    name          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    global_admin  INTEGER NOT NULL DEFAULT 0 CHECK (global_admin IN (0, 1)),
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- A user is staff of one or more organisations.
CREATE TABLE staff (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id     INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX staff_org ON staff(org_id);

-- Setup may complete once: the CHECK makes a second row impossible even for racing requests.
CREATE TABLE setup (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    completed_at INTEGER NOT NULL
);

-- Server-side sessions. The cookie carries the random token; only its SHA-256 is stored,
-- so a copy of the database does not hand out live sessions.
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    token_hash   BLOB    NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    user_agent   TEXT    NOT NULL,
    client_ip    TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Key/value settings that admins may change (timeouts, later SMTP and visibility).
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Keys generated on first start (cookie signing and encryption), never hard-coded.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB    NOT NULL,
    created_at INTEGER NOT NULL
);
