/**
 * A video request sent to the site's contact as a submission link (docs/submissions.md §7), for
 * the business to answer without the agent: the link shows them the cameras, the time range and
 * the reason, and what they send arrives with the request. The submission key pair is made here
 * and its private half wrapped to the case key, in this browser, as for any link.
 */
import { useState } from "preact/hooks";
import type { PublicJwk } from "../../../shared/api/schemas";
import { SUBMISSION_DEFAULT_BYTES, SUBMISSION_DEFAULT_DAYS, SUBMISSION_DEFAULT_FILES, type SubmissionLinkSummary } from "../../../shared/api/submissions";
import type { VideoRequest } from "../../../shared/api/video";
import { generateSubmissionKeyPair, wrapSubmissionKey } from "../../../shared/crypto/submission";
import { casesApi } from "../cases/api";
import { CopyField } from "../sharing/CopyField";
import { LinkQr } from "../submissions/SubmissionLinksSection";
import { submissionsApi } from "../submissions/api";
import { messageOf } from "../ui/messages";

/** States a request can still be answered by upload in (as the server allows). */
const ANSWERABLE: readonly VideoRequest["status"][] = ["requested", "exporting", "held", "unavailable", "expired"];

export function RequestLink(props: { request: VideoRequest }) {
  const r = props.request;
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [made, setMade] = useState<{ link: SubmissionLinkSummary; emailed: boolean }>();
  if (!r.case || (!ANSWERABLE.includes(r.status) && !made)) return null;
  const caseId = r.case.id;

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    if (!text("label")) return setError("Say who the link is for.");
    setBusy(true);
    setError(undefined);
    try {
      const detail = await casesApi.get(caseId);
      const key = await generateSubmissionKeyPair();
      setMade(
        await submissionsApi.create(caseId, {
          audience: "person",
          label: text("label"),
          ...(text("email") ? { email: text("email") } : {}),
          instructions: text("instructions") || "Please export the video asked for below from your recorder and send it here.",
          expiresAt: new Date(Date.now() + SUBMISSION_DEFAULT_DAYS * 86_400_000).toISOString(),
          maxFiles: SUBMISSION_DEFAULT_FILES,
          maxBytes: SUBMISSION_DEFAULT_BYTES,
          submissionKey: key.publicJwk as PublicJwk,
          submissionKeyWrap: await wrapSubmissionKey(key.privateJwk, detail.caseKey.publicJwk),
          caseKid: detail.caseKey.kid,
          requestId: r.id,
        }),
      );
      setOpen(false);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  if (made) {
    return (
      <div class="stack request-link">
        <p role="status">
          {made.emailed ? `The link was emailed to ${made.link.email}. ` : ""}Give this link to the site's contact: it shows them the cameras, the time and the reason, and what they send arrives with this request.
        </p>
        <CopyField label={`Link for ${made.link.label}`} value={made.link.url} />
        <LinkQr url={made.link.url} label={made.link.label} />
      </div>
    );
  }
  if (!open) {
    return (
      <div class="actions">
        <button type="button" class="secondary" onClick={() => setOpen(true)}>
          Send to the site's contact as a link
        </button>
      </div>
    );
  }
  return (
    <form class="stack" aria-label="Send the request as a submission link" onSubmit={(event) => void submit(event)}>
      <p class="muted">The business answers without the agent: the link shows the cameras, the time range and the reason, and nothing else of the case.</p>
      <label>
        Who is it for?
        <input name="label" required maxLength={200} defaultValue={`${r.site.name} CCTV`} />
      </label>
      <label>
        Email (optional: the link is emailed where mail is set up)
        <input name="email" type="email" autoComplete="off" />
      </label>
      <label>
        Instructions
        <textarea name="instructions" maxLength={4000} rows={3} defaultValue="Please export the video asked for below from your recorder, as it is, and send it here." />
      </label>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Making the link…" : "Make link"}
        </button>
        <button type="button" class="secondary" onClick={() => setOpen(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
