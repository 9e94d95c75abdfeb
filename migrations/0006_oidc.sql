-- OpenID Connect sign-in (docs/security.md, "OpenID Connect sign-in").

-- The organisation's identity provider. client_secret is write-only through the API (never
-- returned); an OIDC_CLIENT_SECRET Workers secret binding, when set, is used instead of it.
CREATE TABLE oidc_providers (
  org_id           TEXT PRIMARY KEY REFERENCES organisations(id),
  issuer           TEXT NOT NULL,
  client_id        TEXT NOT NULL,
  client_secret    TEXT,
  display_name     TEXT NOT NULL,
  scopes           TEXT NOT NULL,
  email_claim      TEXT NOT NULL,
  groups_claim     TEXT NOT NULL,
  -- JSON array of { group, role }, in order: the first mapping whose group the user has wins.
  role_mappings    TEXT NOT NULL,
  provision_users  INTEGER NOT NULL CHECK (provision_users IN (0, 1)),
  default_role     TEXT NOT NULL CHECK (default_role IN ('admin', 'investigator', 'site_operator')),
  updated_at       TEXT NOT NULL,
  updated_by       TEXT NOT NULL REFERENCES users(id)
);

-- Sign-ins in progress: one row per /api/oidc/start, deleted when its callback arrives (single
-- use) or once expired. Keyed by SHA-256 of the state; browser_hash is SHA-256 of the random value
-- in the custody_oidc cookie, which binds the attempt to the browser that started it.
CREATE TABLE oidc_states (
  state_hash     TEXT PRIMARY KEY,
  browser_hash   TEXT NOT NULL,
  code_verifier  TEXT NOT NULL,
  nonce          TEXT NOT NULL,
  created_at     TEXT NOT NULL,
  expires_at     TEXT NOT NULL
);
CREATE INDEX oidc_states_by_expiry ON oidc_states (expires_at);

-- Which provider identity (issuer, sub) is which user, recorded at their first OIDC sign-in.
CREATE TABLE oidc_identities (
  issuer         TEXT NOT NULL,
  subject        TEXT NOT NULL,
  user_id        TEXT NOT NULL REFERENCES users(id),
  created_at     TEXT NOT NULL,
  last_used_at   TEXT NOT NULL,
  PRIMARY KEY (issuer, subject)
);
CREATE UNIQUE INDEX oidc_identities_by_user ON oidc_identities (user_id, issuer);
