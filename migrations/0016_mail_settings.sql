-- Email (issue 16, item 6): how the organisation sends mail; no row, or transport 'none': no mail
-- (the app shows links to copy). smtp_password and http_token are sealed with the data key
-- (worker/src/lib/data-key.ts; place 'mail_settings.<column>/<org id>'), never returned by the API.
CREATE TABLE mail_settings (
  org_id TEXT PRIMARY KEY REFERENCES organisations (id),
  transport TEXT NOT NULL CHECK (transport IN ('none', 'smtp', 'http')),
  from_address TEXT NOT NULL,
  from_name TEXT NOT NULL,
  smtp_host TEXT,
  smtp_port INTEGER,
  smtp_security TEXT CHECK (smtp_security IN ('tls', 'starttls', 'none')),
  smtp_username TEXT,
  smtp_password TEXT,
  http_url TEXT,
  http_token TEXT,
  updated_by TEXT REFERENCES users (id),
  updated_at TEXT NOT NULL
);
