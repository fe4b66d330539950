-- Which key seals the audit log. Since this version each entry's hash is an HMAC-SHA-256 under
-- a key kept in a file outside the database (internal/audit), so whoever holds only the
-- database or a backup of it cannot reseal the chain. This row holds only the key's
-- fingerprint (an HMAC of a fixed label), never the key: opening the database with a missing
-- or different key file is refused instead of forking the chain. A database whose log has
-- entries but no row here is sealed the old unkeyed way (plain SHA-256); the store re-keys it
-- at open, writing this row in the same transaction.
CREATE TABLE audit_key (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    key_id   BLOB    NOT NULL,
    keyed_at INTEGER NOT NULL
);
