-- API version 4 request security: pushed authorization requests, request object replay,
-- encryption keys, the NNIN consent and payment details of a grant, addresses.

CREATE TABLE pushed_requests (
    request_uri_hash TEXT PRIMARY KEY NOT NULL, -- SHA-256 of the request_uri
    client_id        TEXT NOT NULL,
    request          TEXT NOT NULL,             -- the validated authorization request, JSON
    expires_at       INTEGER NOT NULL,
    used_at          INTEGER
);

CREATE TABLE request_object_jtis (
    client_id  TEXT NOT NULL,
    jti        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (client_id, jti)
);

CREATE TABLE encryption_keys (
    kid           TEXT PRIMARY KEY NOT NULL,
    alg           TEXT NOT NULL,
    private_pkcs8 BLOB NOT NULL,
    created_at    INTEGER NOT NULL
);

ALTER TABLE clients ADD COLUMN require_pushed_authorization_requests INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN address TEXT; -- JSON: street_address, postal_code, locality, country
ALTER TABLE grants ADD COLUMN nnin_consent INTEGER NOT NULL DEFAULT 0;
ALTER TABLE grants ADD COLUMN authorization_details TEXT; -- JSON, with digests

-- A login flow that completes an already authenticated session (SSO, or identification skipped
-- by id_token_hint) names the session its code is issued for, and leaves the browser's as it is.
ALTER TABLE login_flows ADD COLUMN kept_session_id TEXT;
