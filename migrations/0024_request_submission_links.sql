-- Video requests answered through a submission link (issue 17, item 4; docs/submissions.md §7).
-- A link may be bound to one video request: its public answer then also carries the cameras, the
-- time range and the reason the request asks for, and a finished submission through it marks the
-- request delivered by upload. The files keep the request's id so intake shows them with it.
ALTER TABLE submission_links ADD COLUMN request_id TEXT REFERENCES video_requests(id);
ALTER TABLE submission_files ADD COLUMN request_id TEXT REFERENCES video_requests(id);
CREATE INDEX submission_links_by_request ON submission_links (request_id) WHERE request_id IS NOT NULL;
-- How a delivered request was delivered: NULL by the site's agent, 'upload' through a request's
-- submission link (status 'delivered' either way, so the agent deletes any held copy as after a
-- delivery; the API names the second 'delivered_by_upload'). A column rather than a new status:
-- widening the status CHECK would mean rebuilding a table other tables reference.
ALTER TABLE video_requests ADD COLUMN delivered_by TEXT CHECK (delivered_by IS NULL OR delivered_by = 'upload');
