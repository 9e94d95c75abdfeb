import { Hono } from "hono";
import { PublicAuditDocumentSchema } from "../../../shared/api/audit";
import { getOrganisation } from "../db/organisations";
import type { AppEnv } from "../env";
import { auditLog } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";

/** How long a copy of the public document may be reused, and how often at most it signs a new checkpoint. */
const PUBLIC_MAX_AGE_S = 60;

/**
 * Public, unauthenticated documents under `/.well-known/custody/` (docs/audit.md §3.3): the audit
 * log's latest checkpoint and verification keys, for courts, auditors and monitors to keep copies.
 */
export const wellKnown = new Hono<AppEnv>().get(
  "/audit.json",
  describe({
    summary: "The audit log's latest signed checkpoint (tree size and root) and the keys that sign it. No session; cacheable for a minute.",
    access: "public",
    responses: { 200: { description: "The public audit document.", schema: PublicAuditDocumentSchema }, 304: { description: "Unchanged since the copy you have (If-None-Match)." }, 404: { description: "Not set up yet, or nothing logged." } },
  }),
  async (c) => {
    const org = await getOrganisation(c.env.DB);
    const doc = org ? await auditLog(c.env, org.id).publicDocument(PUBLIC_MAX_AGE_S * 1000) : null;
    if (!doc) throw new ApiError(404, "no_checkpoint", "This installation has no signed audit checkpoint yet.");
    // Callers share copies: a new checkpoint is signed at most once a minute whatever the traffic.
    const etag = `"${doc.treeSize}-${doc.rootHash.slice(0, 32)}"`;
    c.header("Cache-Control", `public, max-age=${PUBLIC_MAX_AGE_S}`);
    c.header("ETag", etag);
    c.header("Access-Control-Allow-Origin", "*");
    if (c.req.header("If-None-Match") === etag) return c.body(null, 304);
    return c.json(doc, 200);
  },
);
