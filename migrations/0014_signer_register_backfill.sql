-- The register of signing keys (docs/audit.md §9) for keys registered before it existed. Until
-- this release, registering, replacing or retiring a signing key wrote no keys.signer_register /
-- keys.signer_retire event, so a court package of evidence signed with such a key would fail its
-- `signer register` check. This puts one register event per signing key (users' and site
-- connectors', current and retired) and one retire event per retired key into the audit outbox;
-- the organisation's AuditLog Durable Object chains them at its next drain, like any event.
-- They are events of the system, marked `"backfilled": true`, with `validFrom` / `retiredAt` the
-- key's own `created_at` / `retired_at` and the holder's name and email as they are now; their
-- `at` is when this migration ran. It runs once, before any code that writes register events, so
-- no key can get two. Ids are 32 hex digits, made from the kid (the hex of its first 16
-- characters for the registration, of the next 16 for the retirement), so they are unique.

INSERT INTO audit_outbox (id, org_id, event, created_at)
SELECT id, org_id, json_object(
    'id', id, 'at', now, 'actor', json_object('type', 'system', 'id', NULL, 'label', 'signer register backfill'),
    'action', 'keys.signer_register', 'target', json_object('type', 'signing_key', 'id', kid),
    'ip', NULL, 'userAgent', NULL, 'outcome', 'success',
    'details', json_object('kid', kid, 'publicJwk', json(public_jwk), 'holder', json(holder), 'validFrom', created_at, 'backfilled', json('true'))
  ), now
FROM (
  SELECT lower(hex(substr(k.kid, 1, 16))) AS id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS now, u.org_id AS org_id, k.kid AS kid, k.public_jwk AS public_jwk, k.created_at AS created_at,
    json_object('type', 'user', 'id', u.id, 'name', u.name, 'email', u.email) AS holder
  FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.use = 'sig'
  UNION ALL
  SELECT lower(hex(substr(a.kid, 1, 16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), s.org_id, a.kid, a.public_jwk, a.created_at,
    json_object('type', 'site', 'id', s.id, 'name', s.name)
  FROM agent_keys a JOIN sites s ON s.id = a.site_id WHERE a.use = 'sig'
  ORDER BY created_at
);

INSERT INTO audit_outbox (id, org_id, event, created_at)
SELECT id, org_id, json_object(
    'id', id, 'at', now, 'actor', json_object('type', 'system', 'id', NULL, 'label', 'signer register backfill'),
    'action', 'keys.signer_retire', 'target', json_object('type', 'signing_key', 'id', kid),
    'ip', NULL, 'userAgent', NULL, 'outcome', 'success',
    'details', json_object('kid', kid, 'holder', json(holder), 'retiredAt', retired_at, 'replacedBy', replaced_by, 'backfilled', json('true'))
  ), now
FROM (
  SELECT lower(hex(substr(k.kid, 17, 16))) AS id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now') AS now, u.org_id AS org_id, k.kid AS kid, k.retired_at AS retired_at,
    json_object('type', 'user', 'id', u.id, 'name', u.name, 'email', u.email) AS holder,
    (SELECT n.kid FROM user_keys n WHERE n.user_id = k.user_id AND n.use = 'sig' AND n.kid <> k.kid AND n.created_at >= k.retired_at ORDER BY n.created_at LIMIT 1) AS replaced_by
  FROM user_keys k JOIN users u ON u.id = k.user_id WHERE k.use = 'sig' AND k.retired_at IS NOT NULL
  UNION ALL
  SELECT lower(hex(substr(a.kid, 17, 16))), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), s.org_id, a.kid, a.retired_at,
    json_object('type', 'site', 'id', s.id, 'name', s.name),
    (SELECT n.kid FROM agent_keys n WHERE n.site_id = a.site_id AND n.use = 'sig' AND n.kid <> a.kid AND n.created_at >= a.retired_at ORDER BY n.created_at LIMIT 1)
  FROM agent_keys a JOIN sites s ON s.id = a.site_id WHERE a.use = 'sig' AND a.retired_at IS NOT NULL
  ORDER BY retired_at
);
