-- Access reviews (issue 16, PRODUCT.md §2.12): a staff manager starts a review of an
-- organisation and below, once or every N days, naming its reviewers. Every role assignment
-- and override in scope at the start is an item, with the names, what it grants, since when
-- and the holder's last sign-in copied then, so the report still reads right once people,
-- roles or organisations are renamed, or the access is gone. Each item is kept or revoked,
-- by whom and when; the review completes when every item is decided, and a recurring one
-- starts its next review (next_review_id) when its day comes.
CREATE TABLE access_reviews (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    org_name          TEXT    NOT NULL,
    started_by        INTEGER REFERENCES users(id) ON DELETE SET NULL, -- NULL: started by the schedule
    started_by_name   TEXT    NOT NULL,
    every_days        INTEGER NOT NULL DEFAULT 0 CHECK (every_days BETWEEN 0 AND 366), -- 0: once
    due_at            INTEGER NOT NULL,
    state             TEXT    NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'complete')),
    created_at        INTEGER NOT NULL,
    completed_at      INTEGER,
    next_review_id    INTEGER REFERENCES access_reviews(id) ON DELETE SET NULL,
    overdue_mailed_at INTEGER -- the reviewers were told it is overdue (once)
);
CREATE INDEX access_reviews_org ON access_reviews(org_id, id);
CREATE INDEX access_reviews_open ON access_reviews(due_at) WHERE state = 'open';
CREATE INDEX access_reviews_recurring ON access_reviews(created_at) WHERE every_days > 0 AND next_review_id IS NULL;
-- A review starts one next review at most, even when two sweeps race.
CREATE UNIQUE INDEX access_reviews_one_next ON access_reviews(next_review_id) WHERE next_review_id IS NOT NULL;

CREATE TABLE access_review_reviewers (
    review_id INTEGER NOT NULL REFERENCES access_reviews(id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (review_id, user_id)
) WITHOUT ROWID;
CREATE INDEX access_review_reviewers_user ON access_review_reviewers(user_id, review_id);

CREATE TABLE access_review_items (
    id              INTEGER PRIMARY KEY,
    review_id       INTEGER NOT NULL REFERENCES access_reviews(id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('assignment', 'override')),
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_name       TEXT    NOT NULL,
    user_email      TEXT    NOT NULL,
    org_id          INTEGER NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    org_name        TEXT    NOT NULL,
    role_id         INTEGER, -- kind assignment; no reference: the role may be deleted later
    role_name       TEXT,
    perm            TEXT,    -- kind override
    effect          TEXT CHECK (effect IN ('allow', 'deny')),
    since           INTEGER NOT NULL,
    until           INTEGER,
    last_sign_in    INTEGER, -- NULL: never signed in
    decision        TEXT CHECK (decision IN ('keep', 'revoke')),
    decided_by      INTEGER REFERENCES users(id) ON DELETE SET NULL,
    decided_by_name TEXT,
    decided_at      INTEGER,
    note            TEXT,
    CHECK ((kind = 'assignment' AND role_id IS NOT NULL) OR (kind = 'override' AND perm IS NOT NULL AND effect IS NOT NULL))
);
CREATE INDEX access_review_items_review ON access_review_items(review_id, user_name COLLATE NOCASE, id);
CREATE INDEX access_review_items_open ON access_review_items(review_id) WHERE decision IS NULL;
