-- The staff list reads people in name order from an index and stops at the page's end,
-- instead of sorting everyone for every page (issue 14).
CREATE INDEX users_name_nocase ON users (name COLLATE NOCASE, id);
CREATE INDEX invitations_name_nocase ON invitations (name COLLATE NOCASE, id);
