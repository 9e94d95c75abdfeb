import { createApp } from "./app";
import { openApiDocument } from "./lib/openapi";
import { auditRoutes } from "./routes/audit";
import { auth } from "./routes/auth";
import { cases } from "./routes/cases";
import { directory } from "./routes/directory";
import { caseEvidence, evidence } from "./routes/evidence";
import { uploads } from "./routes/uploads";
import { health } from "./routes/health";
import { invitations } from "./routes/invitations";
import { keys } from "./routes/keys";
import { mfa } from "./routes/mfa";
import { oidc } from "./routes/oidc";
import { sessions } from "./routes/sessions";
import { caseShares, guests, shared, shares } from "./routes/shares";
import { settings } from "./routes/settings";
import { caseSubmissionLinks, submissionLinks, submit } from "./routes/submissions";
import { caseSubmissions, submittedFiles } from "./routes/submission-intake";
import { setup } from "./routes/setup";
import { users } from "./routes/users";
import { agent } from "./routes/agent";
import { sites } from "./routes/sites";
import { cameras, videoRequests } from "./routes/video-requests";
import { wellKnown } from "./routes/well-known";
import { retention } from "./routes/retention";
import { runShareReminders } from "./lib/share-reminders";
import { runSubmissionCleanup } from "./lib/submission-cleanup";
import { runRetention } from "./lib/retention";
import { moveLegacyRecords } from "./lib/record-move";
import { APP_VERSION } from "./version";

const api = createApp()
  .route("/api/health", health)
  .route("/api/setup", setup)
  .route("/api/auth", auth)
  .route("/api/users", users)
  .route("/api/invitations", invitations)
  .route("/api/keys", keys)
  .route("/api/mfa", mfa)
  .route("/api/sessions", sessions)
  .route("/api/settings", settings)
  .route("/api/oidc", oidc)
  .route("/api/audit", auditRoutes)
  .route("/api/cases", cases)
  .route("/api/cases", caseEvidence)
  .route("/api/cases", caseShares)
  .route("/api/shares", shares)
  .route("/api/guests", guests)
  .route("/api/shared", shared)
  .route("/api/cases", caseSubmissionLinks)
  .route("/api/submission-links", submissionLinks)
  .route("/api/submit", submit)
  .route("/api/cases", caseSubmissions)
  .route("/api/submitted-files", submittedFiles)
  .route("/api/evidence", evidence)
  .route("/api/uploads", uploads)
  .route("/api/directory", directory)
  .route("/api/sites", sites)
  .route("/api/cameras", cameras)
  .route("/api/video-requests", videoRequests)
  .route("/api/agent", agent)
  .route("/api/retention", retention)
  .route("/.well-known/custody", wellKnown);

api.get("/api/openapi.json", (c) => c.json(openApiDocument(api, { version: APP_VERSION }), 200));

/** The API's type, for the web app's typed client `hc<AppType>`. */
export type AppType = typeof api;

export { AuditLog } from "./durable/audit-log";
export { AuditPeriod } from "./durable/audit-period";
export { CaseStore } from "./durable/case-store";
export { SiteLive } from "./durable/site-live";

export default {
  fetch: api.fetch,
  /** The daily Cron Trigger (wrangler.toml [triggers]): the retention job (docs/retention.md), share expiry reminders (docs/disclosure.md §6) and the clean-up of abandoned submissions (docs/submissions.md §5.1) at its scheduled time; and, after an upgrade, the move of older evidence records out of D1 (docs/storage-schema.md). */
  async scheduled(controller, env, ctx) {
    const now = new Date(controller.scheduledTime);
    ctx.waitUntil(runRetention(env, now));
    ctx.waitUntil(runShareReminders(env, now));
    ctx.waitUntil(runSubmissionCleanup(env, now));
    ctx.waitUntil(moveLegacyRecords(env));
  },
} satisfies ExportedHandler<Env>;
