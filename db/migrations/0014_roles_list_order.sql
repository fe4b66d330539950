-- The roles list picks its page in this order from an index, then joins and counts only
-- that page's roles (issue 14).
CREATE INDEX roles_list_order ON roles (org_id, system DESC, name COLLATE NOCASE, id);
