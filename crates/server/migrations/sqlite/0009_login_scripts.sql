-- A test user's next realm login, scripted to end with an error (test controls and
-- `bankid-oidc users update --next-login`): taken, and so deleted, by the one login it ends.
CREATE TABLE login_scripts (
    user_id TEXT PRIMARY KEY NOT NULL,
    outcome TEXT NOT NULL                      -- access_denied | login_required | server_error | temporarily_unavailable
);
