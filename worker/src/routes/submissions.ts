/**
 * Submission links (docs/submissions.md). Member side, for a case's contributors and leads: make a
 * link (the browser made its submission key pair and wrapped the private half to the case key),
 * list, revoke. Public side (/api/submit/:id): what the link asks for and its public key, and
 * nothing of the case. The server checks the shape of the wrap it stores and can open none.
 */
import { Hono, type Context } from "hono";
import { CaseIdParam } from "../../../shared/api/cases";
import {
  CreatedSubmissionLink,
  CreateSubmissionLinkRequest,
  PublicSubmissionLink,
  SUBMISSION_MAX_DAYS,
  SUBMIT_PER_ADDRESS,
  SUBMIT_PER_LINK,
  SUBMIT_WINDOW_MS,
  SubmissionLinkIdParam,
  SubmissionLinkList,
  type SubmissionLinkSummary,
} from "../../../shared/api/submissions";
import { TYP } from "../../../shared/crypto";
import { getOrganisationById } from "../db/organisations";
import {
  findSubmissionLink,
  submissionLinkInsert,
  submissionLinkRevoke,
  submissionLinksOfCase,
  submissionLinkStatus,
  type SubmissionLinkRow,
} from "../db/submissions";
import type { AppEnv } from "../env";
import { audit, auditStatement, flushAudit } from "../lib/audit";
import { requireCaseRole } from "../lib/cases";
import { ApiError } from "../lib/errors";
import { checkPublicKey, checkWrappedTo } from "../lib/keys";
import { sendMail } from "../lib/mail";
import { describe } from "../lib/openapi";
import { publicOrigin } from "../lib/public-url";
import { clientIp } from "../lib/request";
import { newToken } from "../lib/secrets";
import { reserveAttempt } from "../db/identity";
import { requireSession } from "../lib/session";
import { validate } from "../lib/validate";

const DAY_MS = 24 * 60 * 60 * 1000;


/**
 * Counts a request to the public side against its address (before the link is even looked up, so
 * guessing links is throttled too) and, once known, its link; refuses with 429 and a plain message
 * past either limit, audited as `submission.throttled`. Uses the sign-in throttle's window table.
 */
async function throttle(c: Context<AppEnv>, link: SubmissionLinkRow | null): Promise<void> {
  const now = Date.now();
  const since = new Date(now - SUBMIT_WINDOW_MS).toISOString();
  const at = new Date(now).toISOString();
  const address = clientIp(c) ?? "unknown";
  const [key, limit, scope] = link ? [`submit_link:${link.id}`, SUBMIT_PER_LINK, "link"] : [`submit_ip:${address}`, SUBMIT_PER_ADDRESS, "address"];
  if ((await reserveAttempt(c.env.DB, key, at, since, limit)) !== null) return;
  if (link) {
    await audit(c, { action: "submission.throttled", orgId: link.org_id, outcome: "denied", actor: { type: "anonymous", id: null, label: `submission link: ${link.label}` }, ...linkEvent(link, { scope, limit, windowMinutes: SUBMIT_WINDOW_MS / 60_000 }) });
  }
  c.header("Retry-After", String(Math.ceil(SUBMIT_WINDOW_MS / 1000)));
  throw new ApiError(429, "too_many_requests", scope === "link"
    ? "This link is very busy right now. Please wait ten minutes and try again."
    : "Too many tries from your connection. Please wait ten minutes and try again.");
}

function checkExpiry(expiresAt: string): string {
  const at = Date.parse(expiresAt);
  const now = Date.now();
  if (at <= now) throw new ApiError(400, "invalid_expiry", "The expiry must be in the future.");
  if (at > now + SUBMISSION_MAX_DAYS * DAY_MS) throw new ApiError(400, "invalid_expiry", "A submission link can stay open for at most a year.");
  return new Date(at).toISOString();
}

/** The link to give: the fragment names the submission key, which the submitter's browser checks. */
export const submissionUrl = (env: Env, row: Pick<SubmissionLinkRow, "id" | "submission_kid">) => `${publicOrigin(env)}/submit/${row.id}#${row.submission_kid}`;

function toSummary(env: Env, row: SubmissionLinkRow & { creator_name: string }): SubmissionLinkSummary {
  return {
    id: row.id, caseId: row.case_id, audience: row.audience, label: row.label, email: row.recipient_email, instructions: row.instructions,
    maxFiles: row.max_files, maxBytes: row.max_bytes, submissionKid: row.submission_kid, status: submissionLinkStatus(row),
    expiresAt: row.expires_at, createdAt: row.created_at, createdBy: { id: row.created_by, name: row.creator_name }, revokedAt: row.revoked_at,
    url: submissionUrl(env, row),
  };
}

async function summaryOf(c: Context<AppEnv>, caseId: string, id: string): Promise<SubmissionLinkSummary> {
  const row = (await submissionLinksOfCase(c.env.DB, caseId)).find((l) => l.id === id);
  if (!row) throw new Error(`submission link ${id} vanished`);
  return toSummary(c.env, row);
}

const linkEvent = (row: Pick<SubmissionLinkRow, "id" | "case_id" | "label" | "audience">, details: Record<string, unknown> = {}) => ({
  target: { type: "submission_link", id: row.id },
  details: { caseId: row.case_id, linkId: row.id, label: row.label, audience: row.audience, ...details },
});

/** Member routes under a case: list and create. */
export const caseSubmissionLinks = new Hono<AppEnv>()
  .use(requireSession)
  .get(
    "/:id/submission-links",
    describe({ summary: "The case's submission links (contributors and leads): who each is for, limits, expiry and state.", access: "session", responses: { 200: { description: "Links.", schema: SubmissionLinkList } } }),
    validate("param", CaseIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      await requireCaseRole(c, id, "contributor");
      const rows = await submissionLinksOfCase(c.env.DB, id);
      return c.json({ links: rows.map((row) => toSummary(c.env, row)) } satisfies SubmissionLinkList, 200);
    },
  )
  .post(
    "/:id/submission-links",
    describe({
      summary:
        "Make a submission link (contributors and leads): for one person or the public, with instructions, an expiry and limits. The browser made the submission key pair and wrapped its private half to the case's current key; the server checks the shape and opens nothing. Emailed to a person's address where mail is set up.",
      access: "session",
      responses: { 201: { description: "Made.", schema: CreatedSubmissionLink }, 409: { description: "The case is closed, or its key changed." } },
    }),
    validate("param", CaseIdParam),
    validate("json", CreateSubmissionLinkRequest),
    async (c) => {
      const { id: caseId } = c.req.valid("param");
      const body = c.req.valid("json");
      const me = c.get("user");
      const found = await requireCaseRole(c, caseId, "contributor");
      if (found.status !== "open") throw new ApiError(409, "case_closed", "This case is closed. Reopen it to collect evidence.");
      const expiresAt = checkExpiry(body.expiresAt);
      const key = await checkPublicKey(body.submissionKey, "enc", "submissionKey");
      const current = await c.env.DB.prepare("SELECT kid FROM case_keys WHERE case_id = ? AND retired_at IS NULL").bind(caseId).first<{ kid: string }>();
      if (!current || current.kid !== body.caseKid) {
        throw new ApiError(409, "case_key_changed", "The case key has changed (a member was removed). Refresh the case and try again.");
      }
      checkWrappedTo(body.submissionKeyWrap, TYP.submissionKey, current.kid, "submissionKeyWrap");
      const id = newToken();
      const now = new Date().toISOString();
      const email = body.audience === "person" ? (body.email ?? null) : null;
      const row = { id, case_id: caseId, label: body.label, audience: body.audience, submission_kid: key.kid };
      await c.env.DB.batch([
        submissionLinkInsert(c.env.DB, {
          id, orgId: me.orgId, caseId, audience: body.audience, label: body.label, email, instructions: body.instructions, maxFiles: body.maxFiles, maxBytes: body.maxBytes,
          submissionKid: key.kid, submissionPublicJwk: JSON.stringify(key.publicJwk), submissionKeyWrap: body.submissionKeyWrap, caseKid: current.kid, expiresAt, createdBy: me.id, now,
        }),
        auditStatement(c, me.orgId, { action: "submission.link_create", ...linkEvent(row, { caseNumber: found.number, expiresAt, maxFiles: body.maxFiles, maxBytes: body.maxBytes, email, submissionKid: key.kid }) }),
      ]);
      await flushAudit(c.env, me.orgId);
      let emailed = false;
      if (email) {
        const org = await getOrganisationById(c.env.DB, me.orgId);
        const outcome = await sendMail(c.env, me.orgId, {
          to: email,
          subject: `${org?.name ?? "An investigation"} asks you to send evidence`,
          text:
            `${me.name} (${org?.name ?? "Custody"}) asks you to send evidence:\n\n${body.instructions}\n\n` +
            `Send it here, from your phone or computer, until ${expiresAt}:\n${submissionUrl(c.env, row)}\n\n` +
            `Your files are encrypted in your browser before they leave your device. No account is needed.\n`,
        });
        emailed = outcome.sent;
        await audit(c, { action: "submission.link_email", orgId: me.orgId, outcome: outcome.sent ? "success" : "failed", ...linkEvent(row, { email, ...(outcome.sent ? {} : { reason: outcome.reason }) }) });
      }
      return c.json({ link: await summaryOf(c, caseId, id), emailed } satisfies CreatedSubmissionLink, 201);
    },
  );

const noSuchLink = () => new ApiError(404, "not_found", "No such submission link, or you cannot manage it.");

/** Member routes on one link. */
export const submissionLinks = new Hono<AppEnv>()
  .use(requireSession)
  .post(
    "/:id/revoke",
    describe({ summary: "Revoke a submission link (contributors and leads of its case): it accepts nothing from now on.", access: "session", responses: { 200: { description: "Revoked (or already).", schema: SubmissionLinkList.shape.links.element } } }),
    validate("param", SubmissionLinkIdParam),
    async (c) => {
      const { id } = c.req.valid("param");
      const me = c.get("user");
      const link = await findSubmissionLink(c.env.DB, id);
      if (!link || link.org_id !== me.orgId) throw noSuchLink();
      try {
        await requireCaseRole(c, link.case_id, "contributor");
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) throw noSuchLink();
        throw err;
      }
      if (!link.revoked_at) {
        await c.env.DB.batch([
          submissionLinkRevoke(c.env.DB, id, me.id, new Date().toISOString()),
          auditStatement(c, me.orgId, { action: "submission.link_revoke", ...linkEvent(link) }),
        ]);
        await flushAudit(c.env, me.orgId);
      }
      return c.json(await summaryOf(c, link.case_id, id), 200);
    },
  );

/** What a link says to anyone who holds it; a link that is unknown, expired or revoked is one clear message. */
export const submit = new Hono<AppEnv>().get(
  "/:id",
  describe({
    summary: "Open a submission link (public): its instructions, limits, expiry and submission public key. Nothing of the case, and nothing sent through it.",
    access: "public",
    responses: { 200: { description: "The link.", schema: PublicSubmissionLink }, 404: { description: "No such link, or it has expired or been revoked." }, 429: { description: "Too many requests from this address, or to this link, in ten minutes." } },
  }),
  validate("param", SubmissionLinkIdParam),
  async (c) => {
    const { id } = c.req.valid("param");
    await throttle(c, null);
    const link = await findSubmissionLink(c.env.DB, id);
    if (link) await throttle(c, link);
    if (!link) throw new ApiError(404, "link_unavailable", "This link does not work. Check that you copied all of it, or ask whoever sent it for a new one.");
    const status = submissionLinkStatus(link);
    const actor = { type: "anonymous" as const, id: null, label: `submission link: ${link.label}` };
    if (status !== "open") {
      await audit(c, { action: "submission.link_open", orgId: link.org_id, actor, outcome: "denied", ...linkEvent(link, { reason: status }) });
      throw new ApiError(404, "link_unavailable", status === "expired"
        ? "This link has expired, so it cannot take files any more. Ask whoever sent it for a new one."
        : "This link has been closed by the investigators, so it cannot take files any more. Ask whoever sent it for a new one.");
    }
    await audit(c, { action: "submission.link_open", orgId: link.org_id, actor, ...linkEvent(link) });
    const org = await getOrganisationById(c.env.DB, link.org_id);
    return c.json({
      id: link.id, organisation: org?.name ?? "", instructions: link.instructions, maxFiles: link.max_files, maxBytes: link.max_bytes,
      expiresAt: link.expires_at, submissionKey: JSON.parse(link.submission_public_jwk),
    } satisfies PublicSubmissionLink, 200);
  },
);
