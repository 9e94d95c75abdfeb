-- Issue 19, item 8: supervisor oversight. An administrator makes a user a supervisor of the whole
-- organisation (there are no units); every new case key is then also wrapped to the supervisor's
-- encryption key in the browser that makes it, so supervisors open cases without being members.
ALTER TABLE users ADD COLUMN supervisor INTEGER NOT NULL DEFAULT 0 CHECK (supervisor IN (0, 1));

-- Which cases a supervisor oversees: they hold a wrap of the case's keys (case_key_wraps with
-- recipient_user = the supervisor) and read the case as a viewer. Removed, with the wraps, when the
-- supervisor role is taken away or the supervisor is added as a member.
CREATE TABLE case_oversight (
  case_id   TEXT NOT NULL REFERENCES cases(id),
  user_id   TEXT NOT NULL REFERENCES users(id),
  added_by  TEXT NOT NULL REFERENCES users(id),
  added_at  TEXT NOT NULL,
  PRIMARY KEY (case_id, user_id)
);
CREATE INDEX case_oversight_by_user ON case_oversight (user_id);

-- Issue 19, item 10: the address search of the Cameras screen. A Nominatim-compatible search URL;
-- NULL (the default) turns it off. The browser sends the typed address to it.
ALTER TABLE org_settings ADD COLUMN geocoder_url TEXT;
