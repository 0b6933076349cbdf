-- Issuers as data: a grant (and so its code, refresh tokens and access tokens) is redeemed only
-- at the issuer that made it. NULL: a grant from before issuers were recorded, which belongs to
-- the provider's primary (first) realm.
ALTER TABLE grants ADD COLUMN issuer TEXT;
