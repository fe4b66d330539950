-- Time-bound access (issue 15): a role assignment, an "allow" override and an invitation may
-- carry an end, in Unix seconds (NULL: none). The permission rule treats an ended grant as
-- absent from that second on; the sweep then records "expired" once and deletes the row.
ALTER TABLE role_assignments ADD COLUMN until INTEGER;
ALTER TABLE user_overrides ADD COLUMN until INTEGER;
ALTER TABLE invitations ADD COLUMN until INTEGER;
CREATE INDEX role_assignments_until ON role_assignments(until) WHERE until IS NOT NULL;
CREATE INDEX user_overrides_until ON user_overrides(until) WHERE until IS NOT NULL;
