-- Protected applications for forward-auth (PRODUCT.md §2.9). One row is one rule: a host
-- (lower-case; with ":port" when the rule is for that port only) and a path prefix (decoded,
-- no trailing slash but "/" itself), which the longest matching prefix on the host wins. The
-- rule's organisation and permission decide who gets in. Public paths (below) need no session.
CREATE TABLE protected_apps (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL,
    host        TEXT    NOT NULL,
    path_prefix TEXT    NOT NULL DEFAULT '/',
    org_id      INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    permission  TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_by  INTEGER REFERENCES users(id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    UNIQUE (host, path_prefix)
);
CREATE INDEX protected_apps_org ON protected_apps(org_id);

-- Path prefixes of an application that anyone may reach, signed in or not (a login page of
-- its own, a health check, static assets).
CREATE TABLE protected_app_public_paths (
    app_id      INTEGER NOT NULL REFERENCES protected_apps(id) ON DELETE CASCADE,
    path_prefix TEXT    NOT NULL,
    PRIMARY KEY (app_id, path_prefix)
);

-- Bumped by every change to the two tables above (in the same transaction), so a running
-- server, and one told nothing by another process (`rolegate app add`), re-reads the rules
-- only when they changed: one single-row read per decision.
CREATE TABLE protected_apps_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO protected_apps_version (id, version) VALUES (1, 0);
