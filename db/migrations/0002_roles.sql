-- Roles are defined in one organisation. System roles are seeded (created_by NULL);
-- version is the optimistic lock for concurrent edits.
CREATE TABLE roles (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    code        TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    system      INTEGER NOT NULL DEFAULT 0 CHECK (system IN (0, 1)),
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at  INTEGER NOT NULL,
    version     INTEGER NOT NULL DEFAULT 1,
    UNIQUE (org_id, code)
);
CREATE INDEX roles_org_name ON roles(org_id, name COLLATE NOCASE);

CREATE TABLE role_permissions (
    role_id INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    perm    TEXT    NOT NULL,
    PRIMARY KEY (role_id, perm)
) WITHOUT ROWID;

-- User U holds role R in organisation O (and so below O).
CREATE TABLE role_assignments (
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id    INTEGER NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    org_id     INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role_id, org_id)
) WITHOUT ROWID;
CREATE INDEX role_assignments_role ON role_assignments(role_id, user_id);

-- Step 1 of the effective-permission rule: per-user allow/deny in an organisation and below.
CREATE TABLE user_overrides (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id  INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    perm    TEXT    NOT NULL,
    effect  TEXT    NOT NULL CHECK (effect IN ('allow', 'deny')),
    set_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    set_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, org_id, perm)
) WITHOUT ROWID;

-- Step 3: per-organisation default allow/deny.
CREATE TABLE org_defaults (
    org_id INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    perm   TEXT    NOT NULL,
    effect TEXT    NOT NULL CHECK (effect IN ('allow', 'deny')),
    set_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    set_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, perm)
) WITHOUT ROWID;

CREATE INDEX users_name ON users(name COLLATE NOCASE);
