-- Foundation: the organisation, its users, their sessions and invitations.
-- Times are ISO 8601 UTC strings. Ids are 128-bit random hex. No secret is stored in the
-- clear: session and invitation tokens are kept only as SHA-256 hashes.

CREATE TABLE organisations (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);

-- One row, ever: inserting it is what closes first-run setup, atomically with the rest.
CREATE TABLE setup (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  org_id        TEXT NOT NULL REFERENCES organisations(id),
  completed_at  TEXT NOT NULL
);

CREATE TABLE users (
  id             TEXT PRIMARY KEY,
  org_id         TEXT NOT NULL REFERENCES organisations(id),
  email          TEXT NOT NULL UNIQUE,
  name           TEXT NOT NULL,
  role           TEXT NOT NULL CHECK (role IN ('admin', 'investigator', 'site_operator')),
  status         TEXT NOT NULL CHECK (status IN ('active', 'invited', 'disabled')),
  password_hash  TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);

CREATE TABLE sessions (
  token_hash    TEXT PRIMARY KEY,
  user_id       TEXT NOT NULL REFERENCES users(id),
  created_at    TEXT NOT NULL,
  last_seen_at  TEXT NOT NULL,
  expires_at    TEXT NOT NULL,
  revoked_at    TEXT,
  ip            TEXT,
  user_agent    TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

CREATE TABLE invitations (
  token_hash  TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id),
  created_by  TEXT NOT NULL REFERENCES users(id),
  created_at  TEXT NOT NULL,
  expires_at  TEXT NOT NULL,
  used_at     TEXT
);
CREATE INDEX invitations_by_user ON invitations (user_id);
