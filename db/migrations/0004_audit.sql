-- The audit log: append-only and hash-chained. Each entry's hash covers the previous entry's
-- hash and its own canonical content (internal/audit), so editing, removing or inserting an
-- entry breaks the chain at that point. The triggers refuse updates and deletes outright.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT    NOT NULL,
    org_id      INTEGER,
    org_name    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   INTEGER NOT NULL,
    target_name TEXT    NOT NULL,
    before_json TEXT,
    after_json  TEXT,
    client      TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL
);
CREATE INDEX audit_at ON audit_log(at);
CREATE INDEX audit_actor ON audit_log(actor_id, id);
CREATE INDEX audit_org ON audit_log(org_id, id);
CREATE INDEX audit_action ON audit_log(action, id);
CREATE INDEX audit_target ON audit_log(target_type, target_id, id);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
