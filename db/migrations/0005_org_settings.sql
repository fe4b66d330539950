-- Per-organisation settings (PRODUCT.md §2.6, §2.7): whether one person may hold several
-- roles there or exactly one, and whether its admins see only the staff of the organisation
-- and below it ("Limit organisation members visibility", on by default) or every user.
ALTER TABLE organisations ADD COLUMN role_mode TEXT NOT NULL DEFAULT 'many' CHECK (role_mode IN ('many', 'one'));
ALTER TABLE organisations ADD COLUMN limit_visibility INTEGER NOT NULL DEFAULT 1 CHECK (limit_visibility IN (0, 1));
