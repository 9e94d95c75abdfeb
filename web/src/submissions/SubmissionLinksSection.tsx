/**
 * A case's submission links, for its contributors and leads (docs/submissions.md): make a link for
 * one person or the public, with instructions, an expiry and limits; show it as a link and a QR
 * code; revoke it. The submission key pair is made here and its private half wrapped to the case
 * key, in this browser.
 */
import { useEffect, useState } from "preact/hooks";
import { renderSVG } from "uqr";
import type { CaseDetail } from "../../../shared/api/cases";
import type { PublicJwk } from "../../../shared/api/schemas";
import {
  GIB,
  SUBMISSION_DEFAULT_BYTES,
  SUBMISSION_DEFAULT_DAYS,
  SUBMISSION_DEFAULT_FILES,
  SUBMISSION_MAX_DAYS,
  type SubmissionLinkSummary,
} from "../../../shared/api/submissions";
import { generateSubmissionKeyPair, wrapSubmissionKey } from "../../../shared/crypto/submission";
import { CopyField } from "../sharing/CopyField";
import { formatBytes, formatDateTime } from "../ui/format";
import { messageOf } from "../ui/messages";
import { submissionsApi } from "./api";
import "./submissions.css";

const DAY_MS = 86_400_000;
const dateInput = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const endOfDay = (date: string) => new Date(`${date}T23:59:00`).toISOString();
const STATUS_LABELS: Record<SubmissionLinkSummary["status"], string> = { open: "Open", expired: "Expired", revoked: "Revoked" };

/** The link as a QR code (SVG, shown as an image). */
export function LinkQr(props: { url: string; label: string }) {
  const svg = renderSVG(props.url, { border: 1 });
  return <img class="link-qr" src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`} alt={`QR code for the link for ${props.label}`} width={200} height={200} />;
}

export function SubmissionLinksSection(props: { detail: CaseDetail }) {
  const [links, setLinks] = useState<SubmissionLinkSummary[]>();
  const [error, setError] = useState<string>();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<{ link: SubmissionLinkSummary; emailed: boolean }>();

  async function load() {
    try {
      setLinks((await submissionsApi.links(props.detail.id)).links);
    } catch (caught) {
      setError(`Couldn't load the submission links. ${messageOf(caught)}`);
    }
  }
  useEffect(() => void load(), [props.detail.id]);

  return (
    <section aria-labelledby="submissions-heading" class="submissions">
      <h2 id="submissions-heading">Submission links</h2>
      <p class="hint">Ask a witness, a business or the public to send evidence, with no account. Their browser encrypts every file to this case: the server can't open what they send.</p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {created && (
        <div class="card" role="status">
          <h3>Link for {created.link.label}</h3>
          <CopyField label="Submission link" value={created.link.url} />
          <LinkQr url={created.link.url} label={created.link.label} />
          <p class="hint">
            {created.emailed ? `Emailed to ${created.link.email}. ` : created.link.email ? `Couldn't email ${created.link.email} (is mail set up?): send the link yourself. ` : ""}
            Anyone with this link can send files until {formatDateTime(created.link.expiresAt)}. Print or show the QR code for a public appeal.
          </p>
          <button type="button" class="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {links && links.length === 0 && <p class="muted">No submission links for this case.</p>}
      {links && links.length > 0 && (
        <ul class="link-list" aria-label="Submission links">
          {links.map((link) => (
            <LinkCard key={link.id} link={link} onChanged={load} />
          ))}
        </ul>
      )}
      {creating ? (
        <NewLink
          detail={props.detail}
          onCancel={() => setCreating(false)}
          onCreated={(result) => {
            setCreating(false);
            setCreated(result);
            void load();
          }}
        />
      ) : (
        props.detail.status === "open" && (
          <button type="button" class="primary" onClick={() => setCreating(true)}>
            New submission link…
          </button>
        )
      )}
    </section>
  );
}

function LinkCard(props: { link: SubmissionLinkSummary; onChanged: () => Promise<void> }) {
  const { link } = props;
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [showQr, setShowQr] = useState(false);

  async function revoke() {
    if (!confirm(`Revoke the link for ${link.label}? It stops taking files at once.`)) return;
    setBusy(true);
    setError(undefined);
    try {
      await submissionsApi.revoke(link.id);
      await props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="card">
      <h3>
        {link.label} <span class={`badge link-${link.status}`}>{STATUS_LABELS[link.status]}</span>
      </h3>
      <p class="muted">
        {link.audience === "public" ? "Public appeal" : `One person${link.email ? `, ${link.email}` : ""}`} · up to {link.maxFiles} {link.maxFiles === 1 ? "file" : "files"}, {formatBytes(link.maxBytes)} ·{" "}
        {link.status === "revoked" ? `revoked ${formatDateTime(link.revokedAt!)}` : `${link.status === "expired" ? "expired" : "until"} ${formatDateTime(link.expiresAt)}`} · by {link.createdBy.name}
      </p>
      <p class="instructions">{link.instructions}</p>
      {link.status === "open" && (
        <>
          <CopyField label={`Link for ${link.label}`} value={link.url} />
          {showQr && <LinkQr url={link.url} label={link.label} />}
          <div class="actions">
            <button type="button" class="secondary" onClick={() => setShowQr(!showQr)}>
              {showQr ? "Hide QR code" : "Show QR code"}
              <span class="visually-hidden"> for {link.label}</span>
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void revoke()}>
              {busy ? "Revoking…" : "Revoke"}
              <span class="visually-hidden"> link for {link.label}</span>
            </button>
          </div>
        </>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function NewLink(props: { detail: CaseDetail; onCancel: () => void; onCreated: (result: { link: SubmissionLinkSummary; emailed: boolean }) => void }) {
  const [audience, setAudience] = useState<"person" | "public">("person");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const now = Date.now();

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? "").trim();
    const label = text("label");
    const instructions = text("instructions");
    const email = text("email");
    const maxFiles = Number(text("maxFiles"));
    const maxGib = Number(text("maxGib"));
    if (!label) return setError("Say who the link is for.");
    if (!instructions) return setError("Tell the submitter what to send: what, where, when.");
    if (!Number.isInteger(maxFiles) || maxFiles < 1) return setError("Allow at least one file.");
    if (!(maxGib > 0)) return setError("Allow some space: the total size is in GiB (0.5 is 512 MiB).");
    setBusy(true);
    setError(undefined);
    try {
      const key = await generateSubmissionKeyPair();
      const result = await submissionsApi.create(props.detail.id, {
        audience, label, instructions,
        ...(audience === "person" && email ? { email } : {}),
        expiresAt: endOfDay(text("expires")),
        maxFiles,
        maxBytes: Math.round(maxGib * GIB),
        submissionKey: key.publicJwk as PublicJwk,
        submissionKeyWrap: await wrapSubmissionKey(key.privateJwk, props.detail.caseKey.publicJwk),
        caseKid: props.detail.caseKey.kid,
      });
      props.onCreated(result);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="card new-link" aria-label="New submission link" onSubmit={(event) => void submit(event)}>
      <fieldset>
        <legend>Who is it for?</legend>
        <label>
          <input type="radio" name="audience" checked={audience === "person"} onChange={() => setAudience("person")} /> One person (a witness, a business)
        </label>
        <label>
          <input type="radio" name="audience" checked={audience === "public"} onChange={() => setAudience("public")} /> The public (an appeal)
        </label>
      </fieldset>
      <label>
        {audience === "person" ? "Name" : "Appeal"}
        <input name="label" required maxLength={200} placeholder={audience === "person" ? "Corner shop CCTV" : "High Street fire appeal"} />
      </label>
      {audience === "person" && (
        <label>
          Email (optional: the link is emailed where mail is set up)
          <input name="email" type="email" autoComplete="off" />
        </label>
      )}
      <label>
        Instructions
        <textarea name="instructions" required maxLength={4000} rows={4} placeholder="What to send: the place, the date and times, the cameras." />
      </label>
      <label>
        Open until
        <input name="expires" type="date" required min={dateInput(now + DAY_MS)} max={dateInput(now + SUBMISSION_MAX_DAYS * DAY_MS - DAY_MS)} defaultValue={dateInput(now + SUBMISSION_DEFAULT_DAYS * DAY_MS)} />
      </label>
      <div class="limits">
        <label>
          Most files
          <input name="maxFiles" type="number" inputMode="numeric" min={1} max={1000} required defaultValue={String(SUBMISSION_DEFAULT_FILES)} />
        </label>
        <label>
          Most in total (GiB)
          <input name="maxGib" type="number" inputMode="decimal" min={0.001} step="any" required defaultValue={String(SUBMISSION_DEFAULT_BYTES / GIB)} />
        </label>
      </div>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      <div class="actions">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Making the link…" : "Make link"}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
