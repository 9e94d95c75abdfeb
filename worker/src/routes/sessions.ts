/** Your sessions: list them (this one marked) and sign any of them out. */
import { Hono } from "hono";
import { SessionIdParam, SessionList, type SessionSummary } from "../../../shared/api/identity";
import { getSettings } from "../db/identity";
import { listUserSessions, sessionRevokeById, type SessionListRow } from "../db/sessions";
import type { AppEnv } from "../env";
import { auditStatementIfChanged, flushAudit, markAudited } from "../lib/audit";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { requireSession, sessionEnd } from "../lib/session";
import { validate } from "../lib/validate";

export function toSummary(row: SessionListRow, currentHash: string | null): SessionSummary {
  return {
    id: row.public_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    ip: row.ip,
    userAgent: row.user_agent,
    method: row.method,
    current: row.token_hash === currentHash,
  };
}

/** A user's sessions that are still live under the organisation's current limits. */
export async function liveSessions(db: D1Database, userId: string, orgId: string): Promise<SessionListRow[]> {
  const now = Date.now();
  const settings = await getSettings(db, orgId);
  const rows = await listUserSessions(db, userId, new Date(now).toISOString());
  return rows.filter((row) => sessionEnd(row, settings) > now);
}

export const sessions = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/",
    describe({ summary: "Your live sessions, newest first; `current` marks this one.", access: "session", responses: { 200: { description: "Your sessions.", schema: SessionList } } }),
    async (c) => {
      const user = c.get("user");
      const rows = await liveSessions(c.env.DB, user.id, user.orgId);
      return c.json({ sessions: rows.map((row) => toSummary(row, c.get("sessionHash"))) } satisfies SessionList, 200);
    },
  )
  .delete(
    "/:id",
    describe({ summary: "Sign out one of your sessions (this one too, if you name it).", access: "session", responses: { 204: { description: "Signed out." }, 404: { description: "No such live session of yours." } } }),
    validate("param", SessionIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const user = c.get("user");
      const results = await c.env.DB.batch([
        sessionRevokeById(c.env.DB, user.id, id, new Date().toISOString()),
        auditStatementIfChanged(c, user.orgId, { action: "session.revoke", target: { type: "session", id }, details: { userId: user.id, current: id === c.get("session").public_id } }).statement,
      ]);
      if (!markAudited(c, results[1])) throw new ApiError(404, "not_found", "No such session. It may have ended already.");
      await flushAudit(c.env, user.orgId);
      return c.body(null, 204);
    },
  );
