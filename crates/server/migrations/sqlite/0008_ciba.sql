-- CIBA (BankID with biometrics, poll mode): requests a merchant's backend started, polled at
-- the token endpoint until the user's app answers. The auth_req_id is kept only as its key.

CREATE TABLE ciba_requests (
    request_key    TEXT PRIMARY KEY NOT NULL, -- the auth_req_id's store key
    issuer         TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    app_request_id TEXT NOT NULL,             -- the request to the user's app it waits for
    scope          TEXT NOT NULL,
    interval       INTEGER NOT NULL,          -- seconds between polls; grows on slow_down
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    last_polled_at INTEGER,
    too_early      INTEGER NOT NULL DEFAULT 0, -- whether the last poll came before its interval
    redeemed_at    INTEGER                     -- the tokens are issued once
);
CREATE INDEX ciba_requests_expires_at ON ciba_requests (expires_at);
