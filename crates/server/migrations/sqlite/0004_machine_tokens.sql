-- Machine tokens (client credentials) are not recorded when issued: they are self-contained
-- JWTs. Only a revoked one is remembered, until it expires.
CREATE TABLE revoked_machine_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    client_id  TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
