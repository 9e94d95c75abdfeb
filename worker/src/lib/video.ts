/** Video requests: the site's Durable Object, clip planning and expiry. */
import { CLIP_MS } from "../../../shared/api/video";
import { dueForExpiry, expireStatement, nextExpiry } from "../db/video";
import { flushAudit, systemAuditStatement } from "./audit";

/** What the site's agent is told over its live connection: something changed, fetch your work. */
export interface LiveMessage {
  type: "work";
  requestId?: string;
}

/** The site's Durable Object (live connection, nonces, expiry alarm). */
export function siteLive(env: Env, siteId: string) {
  return env.SITE_LIVE.get(env.SITE_LIVE.idFromName(siteId));
}

/**
 * Tells the site's agent it has work, at once if it is connected. Best effort: the change is
 * already committed, and an agent that misses it finds it at its next poll.
 */
export async function notifySite(env: Env, siteId: string, message: LiveMessage = { type: "work" }): Promise<void> {
  try {
    await siteLive(env, siteId).notify(message);
  } catch (err) {
    console.error(`video: could not notify site ${siteId}; its agent will find the work when it polls`, err);
  }
}

/**
 * Makes the site's alarm ring when a request of it expires. The change it follows is already
 * committed, so a failure here is logged, not answered: the alarm is set again when the request
 * is held, and each alarm sets the next from the database.
 */
export async function scheduleExpiry(env: Env, siteId: string, at: string): Promise<void> {
  try {
    await siteLive(env, siteId).scheduleExpiry(siteId, at);
  } catch (err) {
    console.error(`video: could not set the expiry alarm of site ${siteId} (${at}); it is set again at the next change`, err);
  }
}

/** The clips of a request for one camera: the range cut into pieces of at most 60 minutes. */
export function planClips(start: string, end: string): { start: string; end: string }[] {
  const clips = [];
  const to = Date.parse(end);
  for (let from = Date.parse(start); from < to; from += CLIP_MS) {
    clips.push({ start: new Date(from).toISOString(), end: new Date(Math.min(from + CLIP_MS, to)).toISOString() });
  }
  return clips;
}

/**
 * Expires the site's open requests whose time ran out (no decision within the site's hold days),
 * each with its audit event in the same batch; the agent, told, deletes its held copies. Answers
 * how many expired and when the next one is due.
 */
export async function expireDue(env: Env, siteId: string): Promise<{ expired: number; next: string | null }> {
  const now = new Date().toISOString();
  const orgs = new Set<string>();
  let expired = 0;
  for (const request of await dueForExpiry(env.DB, siteId, now)) {
    const results = await env.DB.batch([
      expireStatement(env.DB, request.id, now),
      systemAuditStatement(
        env.DB,
        request.org_id,
        {
          action: "video.request_expire",
          target: { type: "video_request", id: request.id },
          details: { requestId: request.id, caseId: request.case_id, siteId, from: request.status, expiresAt: request.expires_at },
        },
        { onlyIfChanged: true },
      ),
    ]);
    if ((results[0]?.meta.changes ?? 0) === 0) continue;
    expired++;
    orgs.add(request.org_id);
  }
  for (const orgId of orgs) await flushAudit(env, orgId);
  return { expired, next: await nextExpiry(env.DB, siteId) };
}
