-- Two-step sign-in with an authenticator app (TOTP, RFC 6238) and one-time recovery codes
-- (PRODUCT.md §2.1). The secret is kept as the app has it (base32): whoever holds this
-- database holds the session keys as well, so sealing it with a key kept here would add
-- nothing. An enrolment is pending (confirmed_at NULL) until the person types a code from it.
-- last_step is the time step (Unix time / 30 s) of the last code accepted: a code is taken
-- only for a later step, so each is used once.
CREATE TABLE totp_secrets (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret       TEXT    NOT NULL,
    confirmed_at INTEGER,
    last_step    INTEGER NOT NULL DEFAULT 0,
    created_at   INTEGER NOT NULL
);

-- Recovery codes are kept as SHA-256 of the code: each is 50 random bits, shown once, so a
-- slow hash would only slow the sign-in, not an attacker.
CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL UNIQUE,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- How each session was signed in (OpenID's amr values): "pwd", or "pwd otp" once the second
-- step was passed. A policy that requires the second step refuses a "pwd" session.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
-- When the session last passed the second step (0: never): dangerous actions ask for it again
-- when that is more than ten minutes ago (step-up).
ALTER TABLE sessions ADD COLUMN second_step_at INTEGER NOT NULL DEFAULT 0;

-- Whom an organisation requires the second step of: nobody (optional), the people holding
-- any Administration permission there, or everyone there. It covers the organisations below.
ALTER TABLE organisations ADD COLUMN two_step TEXT NOT NULL DEFAULT 'optional' CHECK (two_step IN ('optional', 'admins', 'everyone'));

-- A protected application may require the second step: a person signed in with a password
-- alone is sent to pass it, then back (forward-auth).
ALTER TABLE protected_apps ADD COLUMN require_two_step INTEGER NOT NULL DEFAULT 0 CHECK (require_two_step IN (0, 1));

-- An organisation may require its staff (and those of the organisations below) to sign in
-- through the practice's identity provider: their password no longer signs them in.
ALTER TABLE organisations ADD COLUMN sso_required INTEGER NOT NULL DEFAULT 0 CHECK (sso_required IN (0, 1));
