-- What each access-changing transaction touched, for the permission engine to make the next
-- snapshot from the last by replacing only that (issue 14), in this process or in another
-- one catching up. Triggers write it, so no change can forget to: each row names a person,
-- a role or "the organisations", at the access version the transaction bumped to (the
-- store bumps the counter before it changes anything). The store keeps the last few
-- thousand versions; log_from says from which version on the log is complete (a snapshot
-- older than that is rebuilt whole). The triggers look before they insert rather than say OR
-- IGNORE: a statement's own conflict clause (INSERT OR REPLACE) would override theirs.
CREATE TABLE access_changes (
    version INTEGER NOT NULL,
    kind    TEXT    NOT NULL CHECK (kind IN ('user', 'role', 'orgs')),
    id      INTEGER NOT NULL,
    PRIMARY KEY (version, kind, id)
) WITHOUT ROWID;
ALTER TABLE versions ADD COLUMN access_log_from INTEGER NOT NULL DEFAULT 0;
UPDATE versions SET access_log_from = access;
CREATE TRIGGER access_users_insert AFTER INSERT ON users
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.id);
END;

CREATE TRIGGER access_users_update AFTER UPDATE OF name, email, global_admin, status ON users
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.id);
END;

CREATE TRIGGER access_users_delete AFTER DELETE ON users
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.id);
END;

CREATE TRIGGER access_staff_insert AFTER INSERT ON staff
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_staff_update AFTER UPDATE ON staff
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_staff_delete AFTER DELETE ON staff
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
END;

CREATE TRIGGER access_role_assignments_insert AFTER INSERT ON role_assignments
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_role_assignments_update AFTER UPDATE ON role_assignments
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_role_assignments_delete AFTER DELETE ON role_assignments
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
END;

CREATE TRIGGER access_user_overrides_insert AFTER INSERT ON user_overrides
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_user_overrides_update AFTER UPDATE ON user_overrides
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.user_id);
END;

CREATE TRIGGER access_user_overrides_delete AFTER DELETE ON user_overrides
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.user_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.user_id);
END;

CREATE TRIGGER access_invitations_insert AFTER INSERT ON invitations
    WHEN NEW.accepted_by IS NOT NULL
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.accepted_by FROM versions
        WHERE id = 1 AND NEW.accepted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.accepted_by);
END;

CREATE TRIGGER access_invitations_update AFTER UPDATE OF accepted_at, accepted_by, invited_by ON invitations
    WHEN OLD.accepted_by IS NOT NULL OR NEW.accepted_by IS NOT NULL
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.accepted_by FROM versions
        WHERE id = 1 AND OLD.accepted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.accepted_by);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', NEW.accepted_by FROM versions
        WHERE id = 1 AND NEW.accepted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = NEW.accepted_by);
END;

CREATE TRIGGER access_invitations_delete AFTER DELETE ON invitations
    WHEN OLD.accepted_by IS NOT NULL
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'user', OLD.accepted_by FROM versions
        WHERE id = 1 AND OLD.accepted_by IS NOT NULL AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'user' AND c.id = OLD.accepted_by);
END;

CREATE TRIGGER access_roles_insert AFTER INSERT ON roles
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', NEW.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = NEW.id);
END;

CREATE TRIGGER access_roles_update AFTER UPDATE OF org_id, code, name, active, system ON roles
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', OLD.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = OLD.id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', NEW.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = NEW.id);
END;

CREATE TRIGGER access_roles_delete AFTER DELETE ON roles
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', OLD.id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = OLD.id);
END;

CREATE TRIGGER access_role_permissions_insert AFTER INSERT ON role_permissions
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', NEW.role_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = NEW.role_id);
END;

CREATE TRIGGER access_role_permissions_update AFTER UPDATE ON role_permissions
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', OLD.role_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = OLD.role_id);
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', NEW.role_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = NEW.role_id);
END;

CREATE TRIGGER access_role_permissions_delete AFTER DELETE ON role_permissions
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'role', OLD.role_id FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'role' AND c.id = OLD.role_id);
END;

CREATE TRIGGER access_organisations_insert AFTER INSERT ON organisations
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

CREATE TRIGGER access_organisations_update AFTER UPDATE ON organisations
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

CREATE TRIGGER access_organisations_delete AFTER DELETE ON organisations
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

CREATE TRIGGER access_org_defaults_insert AFTER INSERT ON org_defaults
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

CREATE TRIGGER access_org_defaults_update AFTER UPDATE ON org_defaults
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

CREATE TRIGGER access_org_defaults_delete AFTER DELETE ON org_defaults
BEGIN
    INSERT INTO access_changes (version, kind, id) SELECT access, 'orgs', 0 FROM versions
        WHERE id = 1 AND NOT EXISTS (SELECT 1 FROM access_changes c WHERE c.version = versions.access AND c.kind = 'orgs' AND c.id = 0);
END;

-- The change reader finds the inviters of the people a change touched by this.
CREATE INDEX invitations_accepted_by ON invitations(accepted_by) WHERE accepted_by IS NOT NULL;

-- How many people hold each role, kept by the assignments' triggers so a role's page and its
-- edit count them without walking its holders (a role of 10,000 people took a millisecond).
-- Someone holding a role in two organisations is one holder.
ALTER TABLE roles ADD COLUMN holders INTEGER NOT NULL DEFAULT 0;
UPDATE roles SET holders = (SELECT count(DISTINCT user_id) FROM role_assignments a WHERE a.role_id = roles.id);
CREATE TRIGGER role_holders_insert AFTER INSERT ON role_assignments
    WHEN (SELECT count(*) FROM role_assignments WHERE role_id = NEW.role_id AND user_id = NEW.user_id) = 1
BEGIN
    UPDATE roles SET holders = holders + 1 WHERE id = NEW.role_id;
END;
CREATE TRIGGER role_holders_delete AFTER DELETE ON role_assignments
    WHEN NOT EXISTS (SELECT 1 FROM role_assignments WHERE role_id = OLD.role_id AND user_id = OLD.user_id)
BEGIN
    UPDATE roles SET holders = holders - 1 WHERE id = OLD.role_id;
END;
CREATE TRIGGER role_holders_update AFTER UPDATE OF role_id, user_id ON role_assignments
BEGIN
    UPDATE roles SET holders = (SELECT count(DISTINCT user_id) FROM role_assignments WHERE role_id = roles.id)
        WHERE id IN (OLD.role_id, NEW.role_id);
END;
