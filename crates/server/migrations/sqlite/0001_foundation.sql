-- The provider foundation: clients, test users, signing keys, browser sessions, login flows,
-- authorization codes, grants and the access tokens issued under them.

CREATE TABLE clients (
    client_id     TEXT PRIMARY KEY NOT NULL,
    name          TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    redirect_uris TEXT NOT NULL, -- JSON array of exact URIs
    scopes        TEXT NOT NULL, -- space-separated
    created_at    INTEGER NOT NULL
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY NOT NULL, -- the `sub`
    nnin            TEXT NOT NULL UNIQUE,
    pid             TEXT NOT NULL UNIQUE,      -- `bankid_altsub`
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    birthdate       TEXT NOT NULL,             -- YYYY-MM-DD
    email           TEXT,
    phone           TEXT,
    otp             TEXT NOT NULL,             -- test credentials, as in BankID's test environment
    password        TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    INTEGER,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX users_phone ON users (phone);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY NOT NULL,
    alg           TEXT NOT NULL,
    private_pkcs8 BLOB NOT NULL,
    public_jwk    TEXT NOT NULL,
    state         TEXT NOT NULL, -- active | next | retiring
    created_at    INTEGER NOT NULL
);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY NOT NULL, -- the `sid`; never the cookie value
    cookie_hash TEXT NOT NULL UNIQUE,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    method      TEXT,
    auth_time   INTEGER,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

CREATE TABLE login_flows (
    id              TEXT PRIMARY KEY NOT NULL,
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    request         TEXT NOT NULL, -- the validated authorization request, JSON
    step            TEXT NOT NULL,
    method          TEXT,
    user_id         TEXT,
    csrf            TEXT NOT NULL,
    binding_message TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL
);

CREATE TABLE grants (
    id         TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY NOT NULL, -- SHA-256 of the code; the code itself is never stored
    grant_id       TEXT NOT NULL REFERENCES grants (id),
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    scope          TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    method         TEXT NOT NULL,
    auth_time      INTEGER NOT NULL,
    api_version    INTEGER NOT NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    consumed_at    INTEGER
);

CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    grant_id   TEXT NOT NULL REFERENCES grants (id),
    client_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
