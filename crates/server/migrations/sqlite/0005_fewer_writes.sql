-- Fewer writes, reads and signature checks per login (BENCHMARKS.md):
--
-- Logins in progress are kept in the server's memory (store/sqlite/flows.rs): the table of
-- login flows goes, with the flows in progress during the upgrade (their users start again).
-- A flow is bound to the browser by the hash of its cookie, so a browser without a session no
-- longer gets a pre-login session row either.

DROP TABLE login_flows;
DELETE FROM sessions WHERE user_id IS NULL;

-- An access token of a login is recorded with its hash, which proves a presented token is the
-- one issued without checking its signature again (an ES256 verification costs three
-- signatures).
ALTER TABLE access_tokens ADD COLUMN token_hash TEXT;

-- Indexes for what otherwise scans whole tables: logout revokes the grants of a session, and
-- housekeeping asks whether a grant still has a code.
CREATE INDEX grants_session ON grants (session_id);
CREATE INDEX authorization_codes_grant ON authorization_codes (grant_id);
