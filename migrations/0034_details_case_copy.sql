-- Each details version may carry a second copy of the same fields encrypted to a case key
-- (ECDH-ES+A256KW, like an item's label), so members list and search items by their edited
-- title and tags without releasing (and recording a view of) every item's file key.
ALTER TABLE evidence_details ADD COLUMN case_kid TEXT;
ALTER TABLE evidence_details ADD COLUMN case_jwe TEXT;
