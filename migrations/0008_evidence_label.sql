-- The evidence label: original file name, media type and capture time, encrypted to the case
-- key (a JWE only case members can open), so members can list evidence by name without the
-- audited release of the file key. Null for evidence uploaded before labels existed.
ALTER TABLE evidence ADD COLUMN label TEXT;
