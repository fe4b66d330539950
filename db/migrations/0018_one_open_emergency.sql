-- One open emergency use per person and organisation, even for racing requests: a second
-- "Emergency access" while one lasts is refused (end it, or wait for it to end).
CREATE UNIQUE INDEX emergency_uses_one_open ON emergency_uses(user_id, org_id) WHERE ended_at IS NULL;
