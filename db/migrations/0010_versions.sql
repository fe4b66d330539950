-- Counters that say whether what a process holds in memory is still what the database says.
-- Each is bumped in the same transaction as any change to what it counts, by whichever
-- process makes it (the server, a CLI command such as `rolegate token revoke`, a restore):
--   access   organisations, people, roles, assignments, overrides, defaults (the snapshot)
--   tokens   API tokens
--   apps     protected applications and their public paths
--   sessions sessions ended, and the people they belong to renamed or re-keyed
--   settings portal settings
-- A request reads the one row once and catches up whatever is behind.
CREATE TABLE versions (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    access   INTEGER NOT NULL DEFAULT 0,
    tokens   INTEGER NOT NULL DEFAULT 0,
    apps     INTEGER NOT NULL DEFAULT 0,
    sessions INTEGER NOT NULL DEFAULT 0,
    settings INTEGER NOT NULL DEFAULT 0
);
INSERT INTO versions (id, apps) SELECT 1, version FROM protected_apps_version;
DROP TABLE protected_apps_version;
