-- The evidence thumbnail: a small picture made on the uploading device (a downscaled photo, a
-- video's poster frame), encrypted to the case key like the label (a custody-thumbnail+jwe only
-- case members can open), so evidence lists show it without the audited release of the file key.
-- Null for other file types and for evidence uploaded before thumbnails existed (a type icon then).
ALTER TABLE evidence ADD COLUMN thumbnail TEXT;
