-- Video requests: sites (camera owners) with their on-site agent, the camera registry, and the
-- request workflow. The server never holds a held clip or its key: the agent keeps both at the
-- site until a decision (docs/agent.md). What is here is routing and workflow metadata only.

CREATE TABLE sites (
  id                    TEXT PRIMARY KEY,
  org_id                TEXT NOT NULL REFERENCES organisations(id),
  name                  TEXT NOT NULL,
  address               TEXT NOT NULL DEFAULT '',
  -- Days a held clip waits for a decision before it expires and is deleted at the site.
  hold_days             INTEGER NOT NULL CHECK (hold_days BETWEEN 1 AND 365),
  -- SHA-256 (hex) of the one-time enrolment token in the site's configuration file; null once used.
  enrolment_token_hash  TEXT,
  enrolment_expires_at  TEXT,
  enrolled_at           TEXT,
  created_by            TEXT NOT NULL REFERENCES users(id),
  created_at            TEXT NOT NULL,
  UNIQUE (org_id, name)
);

-- The agent's public keys (ES512 signing, ECDH P-521 encryption), current or retired: a
-- retired signing key stays, so manifests it signed stay verifiable.
CREATE TABLE agent_keys (
  kid         TEXT PRIMARY KEY,
  site_id     TEXT NOT NULL REFERENCES sites(id),
  use         TEXT NOT NULL CHECK (use IN ('sig', 'enc')),
  public_jwk  TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  retired_at  TEXT
);
CREATE UNIQUE INDEX agent_keys_current ON agent_keys (site_id, use) WHERE retired_at IS NULL;

-- A site operator is bound to exactly one site and sees only its requests.
CREATE TABLE site_operators (
  user_id   TEXT PRIMARY KEY REFERENCES users(id),
  site_id   TEXT NOT NULL REFERENCES sites(id),
  added_by  TEXT NOT NULL REFERENCES users(id),
  added_at  TEXT NOT NULL
);
CREATE INDEX site_operators_by_site ON site_operators (site_id);

-- The camera registry, as the site's agent syncs it. archive_id names the camera's folder in
-- the site's recording archive. A camera the agent no longer lists is marked removed.
CREATE TABLE cameras (
  id           TEXT PRIMARY KEY,
  site_id      TEXT NOT NULL REFERENCES sites(id),
  archive_id   TEXT NOT NULL,
  name         TEXT NOT NULL,
  latitude     REAL,
  longitude    REAL,
  direction    INTEGER,
  recorder_id  TEXT NOT NULL DEFAULT '',
  updated_at   TEXT NOT NULL,
  removed_at   TEXT,
  UNIQUE (site_id, archive_id)
);

CREATE TABLE video_requests (
  id            TEXT PRIMARY KEY,
  org_id        TEXT NOT NULL REFERENCES organisations(id),
  site_id       TEXT NOT NULL REFERENCES sites(id),
  case_id       TEXT NOT NULL REFERENCES cases(id),
  requested_by  TEXT NOT NULL REFERENCES users(id),
  reason        TEXT NOT NULL,
  start_at      TEXT NOT NULL,
  end_at        TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('requested', 'exporting', 'held', 'approved', 'delivered', 'denied', 'unavailable', 'expired')),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  exported_at   TEXT,
  -- No decision by then: the request expires and the held copy is deleted.
  expires_at    TEXT NOT NULL,
  decided_by    TEXT REFERENCES users(id),
  decided_at    TEXT,
  decision_note TEXT,
  delivered_at  TEXT,
  -- When the agent confirmed that it deleted its held copy (after delivery, denial or expiry).
  purged_at     TEXT
);
CREATE INDEX video_requests_by_site ON video_requests (site_id, status);
CREATE INDEX video_requests_by_case ON video_requests (case_id);
CREATE INDEX video_requests_open_by_expiry ON video_requests (expires_at) WHERE status IN ('requested', 'exporting', 'held');

-- One clip per camera and hour of a request (a range over 60 minutes is cut into 60-minute clips).
CREATE TABLE video_clips (
  id             TEXT PRIMARY KEY,
  request_id     TEXT NOT NULL REFERENCES video_requests(id),
  camera_id      TEXT NOT NULL REFERENCES cameras(id),
  seq            INTEGER NOT NULL,
  start_at       TEXT NOT NULL,
  end_at         TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN ('pending', 'exporting', 'held', 'unavailable', 'delivered', 'purged')),
  -- What the agent exported: plaintext size and the footage's actual range and duration.
  byte_size      INTEGER,
  footage_start  TEXT,
  footage_end    TEXT,
  duration_ms    INTEGER,
  exported_at    TEXT,
  unavailable    TEXT,
  evidence_id    TEXT,
  UNIQUE (request_id, seq)
);
CREATE INDEX video_clips_by_request ON video_clips (request_id);

-- Evidence delivered for a video request: which request and clip it answers.
ALTER TABLE evidence ADD COLUMN request_id TEXT REFERENCES video_requests(id);
ALTER TABLE evidence ADD COLUMN clip_id TEXT;
