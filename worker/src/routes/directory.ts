import { Hono } from "hono";
import { Directory, DirectoryQuery, SupervisorList } from "../../../shared/api/cases";
import { listSupervisors } from "../db/cases";
import type { AppEnv } from "../env";
import { ApiError } from "../lib/errors";
import { describe } from "../lib/openapi";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";

/**
 * Colleagues a case lead can add as members: active investigators and administrators of the
 * organisation (site operators are never case members). Names and emails only.
 */
export const directory = new Hono<AppEnv>()
  .get(
    "/supervisors",
    describe({
      summary: "The organisation's supervisors and their current encryption keys: the browser that opens a case wraps its key to each (the server refuses a new case without), and a lead gives them an existing case the same way.",
      access: "session",
      responses: { 200: { description: "Supervisors.", schema: SupervisorList } },
    }),
    requireSession,
    async (c) => {
      const me = c.get("user");
      if (me.role === "site_operator" || me.role === "guest") throw new ApiError(403, "forbidden", "Site operators have no access to the directory.");
      return c.json({ supervisors: await listSupervisors(c.env.DB, me.orgId) } satisfies SupervisorList, 200);
    },
  )
  .get(
    "/",
    describe({ summary: "Colleagues who can be case members, to add one to a case. Not for site operators.", access: "session", responses: { 200: { description: "People.", schema: Directory } } }),
    requireSession,
    validate("query", DirectoryQuery),
    async (c) => {
      const me = c.get("user");
      if (me.role === "site_operator") throw new ApiError(403, "forbidden", "Site operators have no access to the directory.");
      const { q } = c.req.valid("query");
      const like = q ? `%${q.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%` : null;
      const { results } = await c.env.DB.prepare(
        `SELECT u.id, u.name, u.email,
                EXISTS (SELECT 1 FROM user_keys k WHERE k.user_id = u.id AND k.use = 'enc' AND k.retired_at IS NULL) AS has_keys
           FROM users u
          WHERE u.org_id = ?1 AND u.status = 'active' AND u.role IN ('investigator', 'admin')
            AND (?2 IS NULL OR u.name LIKE ?2 ESCAPE '\\' OR u.email LIKE ?2 ESCAPE '\\')
          ORDER BY u.name COLLATE NOCASE
          LIMIT 200`,
      )
        .bind(me.orgId, like)
        .all<{ id: string; name: string; email: string; has_keys: number }>();
      const people = results.map((r) => ({ id: r.id, name: r.name, email: r.email, hasKeys: r.has_keys === 1 }));
      return c.json({ people } satisfies Directory, 200);
    },
  );
