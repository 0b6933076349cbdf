-- The PostgreSQL schema: the same records as the SQLite store at its version 9
-- (migrations/sqlite), with PostgreSQL's types: BIGINT seconds, BOOLEAN flags, BYTEA keys.
-- Logins in progress are a table here too (UNLOGGED), so that any instance serves any step.

CREATE TABLE clients (
    client_id                             TEXT PRIMARY KEY,
    name                                  TEXT NOT NULL,
    secret_hash                           TEXT NOT NULL,
    redirect_uris                         TEXT NOT NULL, -- JSON array of exact URIs
    scopes                                TEXT NOT NULL, -- space-separated
    created_at                            BIGINT NOT NULL,
    grant_types                           TEXT NOT NULL,
    token_endpoint_auth_method            TEXT NOT NULL,
    post_logout_redirect_uris             TEXT NOT NULL,
    jwks                                  TEXT,
    jwks_uri                              TEXT,
    resource_server                       BOOLEAN NOT NULL,
    require_pushed_authorization_requests BOOLEAN NOT NULL,
    permission_types                      TEXT NOT NULL  -- JSON array
);

CREATE TABLE users (
    id              TEXT PRIMARY KEY,          -- the `sub`
    nnin            TEXT NOT NULL UNIQUE,
    pid             TEXT NOT NULL UNIQUE,      -- `bankid_altsub`
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    birthdate       TEXT NOT NULL,             -- YYYY-MM-DD
    email           TEXT,
    phone           TEXT,
    address         TEXT,                      -- JSON
    otp             TEXT NOT NULL,
    password        TEXT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX users_phone ON users (phone);

CREATE TABLE signing_keys (
    kid           TEXT PRIMARY KEY,
    key_set       TEXT NOT NULL,              -- signing | grants
    alg           TEXT NOT NULL,
    private_pkcs8 BYTEA NOT NULL,
    public_jwk    TEXT NOT NULL,
    state         TEXT NOT NULL,              -- active | next | retiring
    created_at    BIGINT NOT NULL,
    activate_at   BIGINT,
    retire_at     BIGINT
);

CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,             -- the `sid`; never the cookie value
    cookie_hash TEXT NOT NULL UNIQUE,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    method      TEXT,
    auth_time   BIGINT,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE grants (
    id                    TEXT PRIMARY KEY,
    issuer                TEXT,
    client_id             TEXT NOT NULL,
    user_id               TEXT NOT NULL,
    session_id            TEXT,
    offline               BOOLEAN NOT NULL DEFAULT FALSE,
    nnin_consent          BOOLEAN NOT NULL DEFAULT FALSE,
    authorization_details TEXT,               -- JSON, with digests
    created_at            BIGINT NOT NULL,
    revoked_at            BIGINT
);
CREATE INDEX grants_session ON grants (session_id);
CREATE INDEX grants_client ON grants (client_id) WHERE revoked_at IS NULL;
CREATE INDEX grants_user ON grants (user_id) WHERE revoked_at IS NULL;
CREATE INDEX grants_created_at ON grants (created_at);

CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,          -- the code's store key; the code is never stored
    grant_id       TEXT NOT NULL REFERENCES grants (id),
    client_id      TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    scope          TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    session_id     TEXT NOT NULL,
    method         TEXT NOT NULL,
    auth_time      BIGINT NOT NULL,
    api_version    BIGINT NOT NULL,
    issued_at      BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    consumed_at    BIGINT
);
CREATE INDEX authorization_codes_grant ON authorization_codes (grant_id);
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);

CREATE TABLE access_tokens (
    jti        TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES grants (id),
    client_id  TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    token_hash TEXT,
    revoked_at BIGINT
);
CREATE INDEX access_tokens_grant ON access_tokens (grant_id);
CREATE INDEX access_tokens_expires_at ON access_tokens (expires_at);

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    grant_id    TEXT NOT NULL REFERENCES grants (id),
    parent_hash TEXT,                          -- the token this one replaced
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    auth_time   BIGINT NOT NULL,
    api_version BIGINT NOT NULL,
    issued_at   BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT                         -- set once, when it is exchanged
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

-- One-time jtis of client assertions and request objects, per client.
CREATE TABLE client_jwt_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, jti)
);
CREATE INDEX client_jwt_jtis_expires_at ON client_jwt_jtis (expires_at);

CREATE TABLE provider_secrets (
    name  TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE pushed_requests (
    request_uri_hash TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL,
    request          TEXT NOT NULL,            -- the validated authorization request, JSON
    expires_at       BIGINT NOT NULL,
    used_at          BIGINT
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

CREATE TABLE encryption_keys (
    kid           TEXT PRIMARY KEY,
    alg           TEXT NOT NULL,
    private_pkcs8 BYTEA NOT NULL,
    created_at    BIGINT NOT NULL
);

CREATE TABLE revoked_machine_tokens (
    jti        TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_machine_tokens_expires_at ON revoked_machine_tokens (expires_at);

CREATE TABLE permissions (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    type            TEXT NOT NULL,
    loa             TEXT NOT NULL,
    permission      TEXT NOT NULL,
    digest          TEXT NOT NULL,
    nonce           TEXT,
    intents         TEXT NOT NULL,             -- JSON array
    login_hint_nnin TEXT,
    acr_values      TEXT NOT NULL,             -- JSON array
    binding_message TEXT NOT NULL,
    iat             BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    token_used_at   BIGINT,
    app_request_id  TEXT,
    grant_jwt       TEXT
);
CREATE INDEX permissions_expires_at ON permissions (expires_at);

CREATE TABLE permission_nonces (
    client_id  TEXT NOT NULL,
    nonce      TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, nonce)
);
CREATE INDEX permission_nonces_expires_at ON permission_nonces (expires_at);

CREATE TABLE app_requests (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    client_name     TEXT NOT NULL,
    binding_message TEXT NOT NULL,
    permission_id   TEXT,
    content         TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    answer          TEXT,
    answered_at     BIGINT,
    script          TEXT,
    script_at       BIGINT
);
CREATE INDEX app_requests_user ON app_requests (user_id, expires_at);
CREATE INDEX app_requests_expires_at ON app_requests (expires_at);

-- A user's scripts go with the user: the foreign keys make a script written while its user is
-- removed on another instance either go with the user or fail, never outlive it.
CREATE TABLE app_scripts (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    answer  TEXT NOT NULL,
    delay   BIGINT NOT NULL
);

CREATE TABLE ciba_requests (
    request_key    TEXT PRIMARY KEY,
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    app_request_id TEXT NOT NULL,
    scope          TEXT NOT NULL,
    interval       BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    last_polled_at BIGINT,
    too_early      BOOLEAN NOT NULL DEFAULT FALSE,
    redeemed_at    BIGINT
);
CREATE INDEX ciba_requests_expires_at ON ciba_requests (expires_at);

CREATE TABLE login_scripts (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    outcome TEXT NOT NULL
);

-- Logins in progress (store/postgres/flows.rs). UNLOGGED: not written to the WAL, so a crash
-- of the database empties the table, which is the promise the in-memory store makes for a
-- restart of the provider (the users between two pages start again), at a fraction of the
-- cost of a logged write. An ended flow keeps its id (flow NULL, live false) until it would
-- have expired. A step changes `step` and `flow`, which no index names, so it is a HOT update
-- (no index entry written) where the page has room: hence the fill factor. An ended flow leaves
-- a dead entry in the index of live flows, which every new login's count walks past: vacuum
-- comes after 500 of them, not after a fifth of the table.
CREATE UNLOGGED TABLE login_flows (
    id         TEXT PRIMARY KEY,
    live       BOOLEAN NOT NULL,
    step       TEXT,                           -- NULL once ended
    flow       TEXT,                           -- the LoginFlow, JSON; NULL once ended
    source     TEXT,
    expires_at BIGINT NOT NULL
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,
        autovacuum_vacuum_cost_delay = 0);
CREATE INDEX login_flows_live ON login_flows (source, expires_at) WHERE live;
CREATE INDEX login_flows_expires_at ON login_flows (expires_at);
