-- BankID with biometrics: the permissions merchants register, the requests the emulated app
-- shows its user, the users' scripted answers, and a second key set that signs grants.

CREATE TABLE permissions (
    id              TEXT PRIMARY KEY NOT NULL, -- 1.BY.<b64>.<b64>
    client_id       TEXT NOT NULL,
    type            TEXT NOT NULL,             -- authentication.v1 | text.v1 | payment.v1 | ...
    loa             TEXT NOT NULL,
    permission      TEXT NOT NULL,             -- the statement, base64url as sent
    digest          TEXT NOT NULL,             -- base64url(SHA-256(statement bytes))
    nonce           TEXT,
    intents         TEXT NOT NULL,             -- JSON array
    login_hint_nnin TEXT,
    acr_values      TEXT NOT NULL,             -- JSON array
    binding_message TEXT NOT NULL,
    iat             INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,          -- its exp: the user must answer before this
    created_at      INTEGER NOT NULL,
    token_used_at   INTEGER,                   -- the permission token works once
    app_request_id  TEXT,                      -- the app request that asks the user
    grant_jwt       TEXT                       -- signed once, on the first read after approval
);
CREATE INDEX permissions_expires_at ON permissions (expires_at);

-- A payment's nonce is never accepted twice from one client while it is kept (30 days).
CREATE TABLE permission_nonces (
    client_id  TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, nonce)
);
CREATE INDEX permission_nonces_expires_at ON permission_nonces (expires_at);

CREATE TABLE app_requests (
    id              TEXT PRIMARY KEY NOT NULL,
    user_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_name     TEXT NOT NULL,
    binding_message TEXT NOT NULL,
    permission_id   TEXT,
    content         TEXT NOT NULL,             -- JSON: what the app shows (app::AppContent)
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,          -- unanswered by then: timed out
    answer          TEXT,                      -- approved | denied; NULL while unanswered
    answered_at     INTEGER,
    script          TEXT,                      -- the user's scripted answer when it was made
    script_at       INTEGER                    -- when the scripted answer takes effect
);
CREATE INDEX app_requests_user ON app_requests (user_id, expires_at);
CREATE INDEX app_requests_expires_at ON app_requests (expires_at);

-- A test user's scripted answer: every request to their app gets it after `delay` seconds.
CREATE TABLE app_scripts (
    user_id TEXT PRIMARY KEY NOT NULL,
    answer  TEXT NOT NULL,                     -- approve | deny | timeout | unreachable
    delay   INTEGER NOT NULL
);

-- Keys belong to a set: `signing` signs tokens (jwks_uri), `grants` signs grants
-- (jwks_uri_grants). Each set has its own schedule.
ALTER TABLE signing_keys ADD COLUMN key_set TEXT NOT NULL DEFAULT 'signing';

-- The card and account permission types (`card.v1`, `account.v1`) a client is registered for,
-- a JSON array: BankID registers them per client, upfront.
ALTER TABLE clients ADD COLUMN permission_types TEXT NOT NULL DEFAULT '[]';
