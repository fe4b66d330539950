-- Emergency access, "break the glass" (issue 15, PRODUCT.md §2.11). Each organisation says
-- whether it is on, which permissions may be taken and for how long at most; each use is a
-- row: who, where, what, why, until when, who ended it, and the review of it.
CREATE TABLE emergency_settings (
    org_id      INTEGER PRIMARY KEY REFERENCES organisations(id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    max_minutes INTEGER NOT NULL DEFAULT 240 CHECK (max_minutes BETWEEN 15 AND 1440),
    updated_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    updated_at  INTEGER NOT NULL
);
CREATE TABLE emergency_permissions (
    org_id INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    perm   TEXT    NOT NULL,
    PRIMARY KEY (org_id, perm)
);
CREATE TABLE emergency_uses (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    org_id      INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    perms       TEXT    NOT NULL, -- the keys taken, space-separated
    reason      TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    ended_at    INTEGER,          -- set when ended early, or by the sweep once the time is up
    ended_by    INTEGER REFERENCES users(id) ON DELETE SET NULL,
    decision    TEXT CHECK (decision IN ('justified', 'not_justified')),
    note        TEXT,
    reviewed_by INTEGER REFERENCES users(id) ON DELETE SET NULL,
    reviewed_at INTEGER
);
CREATE INDEX emergency_uses_open ON emergency_uses(ends_at) WHERE ended_at IS NULL;
CREATE INDEX emergency_uses_org ON emergency_uses(org_id, id);
CREATE INDEX emergency_uses_user ON emergency_uses(user_id) WHERE ended_at IS NULL;

-- A use grants while it is open: the permission snapshot follows it like any grant.
CREATE TRIGGER access_emergency_uses_insert AFTER INSERT ON emergency_uses
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;
CREATE TRIGGER access_emergency_uses_update AFTER UPDATE OF ended_at, ends_at, perms ON emergency_uses
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;
CREATE TRIGGER access_emergency_uses_delete AFTER DELETE ON emergency_uses
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
END;
