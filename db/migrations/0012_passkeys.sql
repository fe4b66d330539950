-- Passkeys and security keys (WebAuthn) as a second step of signing in, and, being
-- discoverable, as a sign-in of their own without a password (PRODUCT.md §2.1). credential
-- is the library's record of it as JSON (public key, signature counter, flags, transports);
-- credential_id is the authenticator's id for it, by which a sign-in finds it.
CREATE TABLE passkeys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    credential_id BLOB    NOT NULL UNIQUE,
    credential    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- A WebAuthn challenge answered once is never taken again, even by the browser that was
-- asked it (its ceremony waits in a signed cookie, not here). Kept until it would have
-- expired anyway.
CREATE TABLE passkey_challenges_used (
    challenge_hash BLOB    PRIMARY KEY,
    expires_at     INTEGER NOT NULL
);
