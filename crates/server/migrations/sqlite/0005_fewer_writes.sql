-- Fewer writes, reads and signature checks per login (BENCHMARKS.md):
--
-- A login flow is bound to the browser by the hash of its cookie instead of to a session row, so
-- a browser without a session no longer gets a pre-login session row (inserted, read on every
-- page, and deleted at login), and a page reads one row. Flows are short-lived (10 minutes):
-- the ones in progress during the upgrade are dropped and their users start again.
--
-- The table is keyed by its id alone (WITHOUT ROWID): one B-tree per write instead of a table
-- and its primary-key index.

DROP TABLE login_flows;
CREATE TABLE login_flows (
    id              TEXT PRIMARY KEY NOT NULL,
    browser_hash    TEXT NOT NULL,  -- SHA-256 of the browser's session cookie
    session_id      TEXT,           -- the browser's authenticated session, replaced at login
    request         TEXT NOT NULL,  -- the validated authorization request, JSON
    step            TEXT NOT NULL,
    method          TEXT,
    user_id         TEXT,
    csrf            TEXT NOT NULL,
    binding_message TEXT,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    kept_session_id TEXT            -- the session a consent-only flow completes
) WITHOUT ROWID;

-- Pre-login sessions were rows with no user; they are cookies only now.
DELETE FROM sessions WHERE user_id IS NULL;

-- An access token of a login is recorded with its hash, which proves a presented token is the
-- one issued without checking its signature again (an ES256 verification costs three
-- signatures).
ALTER TABLE access_tokens ADD COLUMN token_hash TEXT;

-- Indexes for what otherwise scans whole tables: logout revokes the grants of a session, and
-- housekeeping asks whether a grant still has a code.
CREATE INDEX grants_session ON grants (session_id);
CREATE INDEX authorization_codes_grant ON authorization_codes (grant_id);
