-- Token lifecycle: client registration metadata, refresh token families, revocable access
-- tokens, single-use client assertion ids, scheduled key rotation and provider secrets.

ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'authorization_code';
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT 'client_secret_basic';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
ALTER TABLE clients ADD COLUMN resource_server INTEGER NOT NULL DEFAULT 0;

ALTER TABLE grants ADD COLUMN session_id TEXT;
ALTER TABLE grants ADD COLUMN offline INTEGER NOT NULL DEFAULT 0;

ALTER TABLE access_tokens ADD COLUMN revoked_at INTEGER;
ALTER TABLE access_tokens ADD COLUMN issued_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY NOT NULL,   -- SHA-256 of the token
    grant_id    TEXT NOT NULL REFERENCES grants (id),
    parent_hash TEXT,                        -- the token this one replaced
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    scope       TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    method      TEXT NOT NULL,
    auth_time   INTEGER NOT NULL,
    api_version INTEGER NOT NULL,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER                      -- set once, when it is exchanged
);
CREATE INDEX refresh_tokens_grant ON refresh_tokens (grant_id);

CREATE TABLE client_assertion_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);

ALTER TABLE signing_keys ADD COLUMN activate_at INTEGER;
ALTER TABLE signing_keys ADD COLUMN retire_at INTEGER;

CREATE TABLE provider_secrets (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
);
