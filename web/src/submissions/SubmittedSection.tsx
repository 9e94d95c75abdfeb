/**
 * "Submitted": what arrived through the case's submission links and waits for review
 * (docs/submissions.md §5). Everything is opened here, in the browser: the case key (this member's
 * wrap) opens the submission key, which opens each file's name, the submitter's details and, for a
 * view, the file key (the release is recorded). Accept re-wraps the file key and label to the case
 * key (the file is not re-encrypted) and it becomes evidence; Reject deletes it, keys first.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import type { JWK } from "jose";
import type { CaseDetail } from "../../../shared/api/cases";
import type { SignerKey } from "../../../shared/api/schemas";
import type { IncomingSubmission, SubmittedFile } from "../../../shared/api/submission-intake";
import { rewrapFileKey, unwrapCaseKey, unwrapFileKey, type UnlockedKey } from "../../../shared/crypto/keys";
import { decryptLabel, type EvidenceLabel } from "../../../shared/crypto/label";
import { unwrapSubmissionKey } from "../../../shared/crypto/submission";
import { rewrapLabel } from "../../../shared/crypto/submission-intake";
import { decryptSubmissionDetails, type SubmissionDetails } from "../../../shared/crypto/submission";
import { casesApi } from "../cases/api";
import { openCaseKey } from "../cases/crypto";
import { EvidenceOpener, fetchPart, forgetOpened, OpenError, type OpenStep, type SharedOpenedEvidence } from "../evidence/open";
import type { DeviceKeys } from "../keys/store";
import { formatBytes, formatDateTime } from "../ui/format";
import { messageOf } from "../ui/messages";
import { intakeApi } from "./intake-api";
import "./submissions.css";

/** A submission as this member's browser opened it. */
interface Opened {
  submission: IncomingSubmission;
  submissionKey: UnlockedKey;
  details: SubmissionDetails | null;
  labels: Map<string, EvidenceLabel | null>;
}

type FileState = { state: "waiting" } | { state: "busy"; doing: string } | { state: "accepted" } | { state: "rejected" } | { state: "failed"; message: string };

/** The submission key of `submission`, through this member's case key. */
async function openSubmission(caseId: string, submission: IncomingSubmission, keys: DeviceKeys): Promise<Opened> {
  const { keys: caseKeys } = await casesApi.keys(caseId);
  const wrap = caseKeys.find((k) => k.kid === submission.caseKid)?.wrap;
  if (!wrap) throw new Error("You hold no wrap of the case key this was sent to. Ask a lead of the case to add you again.");
  const caseKey = await openCaseKey(wrap, keys);
  const submissionKey = await unwrapSubmissionKey(submission.submissionKeyWrap, caseKey.privateKey);
  const details = submission.details ? await decryptSubmissionDetails(submission.details, submissionKey.privateKey).catch(() => null) : null;
  const labels = new Map<string, EvidenceLabel | null>();
  for (const file of submission.files) labels.set(file.id, await decryptLabel(file.label, submissionKey.privateKey).catch(() => null));
  return { submission, submissionKey, details, labels };
}

export function SubmittedSection(props: { detail: CaseDetail; keys: DeviceKeys; onAccepted: () => void }) {
  const [opened, setOpened] = useState<Opened[]>();
  const [error, setError] = useState<string>();
  const [states, setStates] = useState<Map<string, FileState>>(new Map());
  const [viewing, setViewing] = useState<string>();
  const canDecide = props.detail.myRole !== "viewer" && props.detail.status === "open";

  async function load() {
    try {
      const { submissions } = await intakeApi.incoming(props.detail.id);
      setOpened(await Promise.all(submissions.map((s) => openSubmission(props.detail.id, s, props.keys))));
    } catch (caught) {
      setError(`Couldn't load what was submitted. ${messageOf(caught)}`);
    }
  }
  useEffect(() => void load(), [props.detail.id]);

  const setState = (id: string, state: FileState) => setStates((current) => new Map(current).set(id, state));

  async function accept(entry: Opened, file: SubmittedFile) {
    setState(file.id, { state: "busy", doing: "Accepting…" });
    try {
      const casePublic = props.detail.caseKey.publicJwk as JWK;
      await intakeApi.accept(file.id, {
        caseKid: props.detail.caseKey.kid,
        fileKey: await rewrapFileKey(file.fileKey, entry.submissionKey.privateKey, casePublic),
        label: await rewrapLabel(file.label, entry.submissionKey.privateKey, casePublic),
      });
      setState(file.id, { state: "accepted" });
      if (viewing === file.id) setViewing(undefined);
      props.onAccepted();
    } catch (caught) {
      setState(file.id, { state: "failed", message: `Couldn't accept it. ${messageOf(caught)}` });
    }
  }

  async function reject(name: string, file: SubmittedFile) {
    if (!confirm(`Reject ${name}? It is deleted for good: its keys first, then the file. This can't be undone.`)) return;
    setState(file.id, { state: "busy", doing: "Rejecting…" });
    try {
      await intakeApi.reject(file.id);
      if (viewing === file.id) setViewing(undefined);
      setState(file.id, { state: "rejected" });
    } catch (caught) {
      setState(file.id, { state: "failed", message: `Couldn't reject it. ${messageOf(caught)}` });
    }
  }

  const waiting = opened?.reduce((n, entry) => n + entry.submission.files.length, 0) ?? 0;
  return (
    <section aria-labelledby="submitted-heading" class="submitted">
      <h2 id="submitted-heading">Submitted</h2>
      <p class="hint">
        Files sent through this case's submission links. They are not evidence until someone accepts them; a rejected file is deleted. Opening one is recorded.
      </p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {opened && waiting === 0 && <p class="muted">Nothing waiting for review.</p>}
      {opened?.map((entry) => {
        const { submission, details } = entry;
        const who = details?.name ? details.name : "No name given";
        return (
          <article key={submission.id} class="card submission-card" aria-label={`Sent through ${submission.link.label}`}>
            <h3>Through “{submission.link.label}”</h3>
            <dl class="request-facts">
              <dt>Sent by</dt>
              <dd>
                {who}
                {details?.contact ? ` · ${details.contact}` : ""}
              </dd>
              <dt>Sent</dt>
              <dd>
                {formatDateTime(submission.sentAt)}
                {submission.ip ? ` from ${submission.ip}` : ""}
              </dd>
              {details?.statement && (
                <>
                  <dt>Statement</dt>
                  <dd class="statement">{details.statement}</dd>
                </>
              )}
            </dl>
            <ul class="submitted-files" aria-label={`Files sent through ${submission.link.label}`}>
              {submission.files.map((file) => {
                const label = entry.labels.get(file.id);
                const name = label?.fileName ?? `Encrypted file ${file.id.slice(0, 8)}`;
                const state = states.get(file.id) ?? { state: "waiting" };
                const decided = state.state === "accepted" || state.state === "rejected";
                return (
                  <li key={file.id} aria-label={name}>
                    <p class="submitted-name">
                      <strong>{name}</strong> <span class="muted">{label?.mediaType ?? ""} · {formatBytes(file.byteSize)}</span>
                    </p>
                    <p class="submitted-state" role="status">
                      {state.state === "waiting" && "Waiting for review"}
                      {state.state === "busy" && state.doing}
                      {state.state === "accepted" && "Accepted: it is now in this case's evidence."}
                      {state.state === "rejected" && "Rejected and deleted."}
                    </p>
                    {state.state === "failed" && (
                      <p role="alert" class="alert">
                        {state.message}
                      </p>
                    )}
                    {!decided && (
                      <div class="actions">
                        <button type="button" class="secondary" onClick={() => setViewing(viewing === file.id ? undefined : file.id)}>
                          {viewing === file.id ? "Close" : label?.mediaType.startsWith("video/") ? "Play" : "View"}
                          <span class="visually-hidden"> {name}</span>
                        </button>
                        {canDecide && (
                          <>
                            <button type="button" class="primary" disabled={state.state === "busy"} onClick={() => void accept(entry, file)}>
                              Accept<span class="visually-hidden"> {name}</span>
                            </button>
                            <button type="button" class="danger" disabled={state.state === "busy"} onClick={() => void reject(name, file)}>
                              Reject<span class="visually-hidden"> {name}</span>
                            </button>
                          </>
                        )}
                      </div>
                    )}
                    {viewing === file.id && !decided && <SubmittedViewer entry={entry} file={file} name={name} keys={props.keys} />}
                  </li>
                );
              })}
            </ul>
          </article>
        );
      })}
    </section>
  );
}

/** Opens a submitted file as evidence is opened: signature, the audited key release, then parts checked as they play. */
function SubmittedViewer(props: { entry: Opened; file: SubmittedFile; name: string; keys: DeviceKeys }) {
  const { entry, file } = props;
  const [step, setStep] = useState<OpenStep>();
  const [opened, setOpened] = useState<SharedOpenedEvidence>();
  const [checked, setChecked] = useState<"checking" | "verified">("checking");
  const [failure, setFailure] = useState<string>();
  const opener = useRef<EvidenceOpener | undefined>(undefined);

  useEffect(() => {
    const worker = new EvidenceOpener();
    opener.current = worker;
    let failed = false;
    worker.onCheck((event) => {
      if (event.type === "verified") setChecked("verified");
      else if (event.type === "failed") {
        failed = true;
        worker.dispose();
        setFailure(`${event.error.integrity ? "Verification failed" : "Couldn't open it"}: ${event.error.what}: ${event.error.message}`);
      }
    });
    const signer: SignerKey = {
      kid: entry.submission.signer.kid, publicJwk: entry.submission.signer.publicJwk,
      owner: { type: "submitter", id: entry.submission.id, name: "the submitter" }, createdAt: entry.submission.sentAt, retiredAt: null,
    };
    (async () => {
      const result = await worker.openShared(
        { id: file.id, manifest: file.manifest },
        signer,
        async () => {
          const release = await intakeApi.releaseKey(file.id);
          const caseKey = await unwrapCaseKey(release.caseKeyWrap, props.keys.encryption);
          const submissionKey = await unwrapSubmissionKey(release.submissionKeyWrap, caseKey.privateKey);
          return unwrapFileKey(release.fileKey, submissionKey.privateKey);
        },
        (n, signal) => fetchPart(file.id, n, signal, "/api/submitted-files"),
        setStep,
      );
      if (!failed) setOpened(result);
    })().catch((caught) => setFailure(caught instanceof OpenError ? `${caught.integrity ? "Verification failed" : "Couldn't open it"}: ${caught.what}: ${caught.message}` : messageOf(caught)));
    return () => {
      worker.dispose();
      void forgetOpened(file.id).catch(() => undefined);
    };
  }, [file.id]);

  if (failure) {
    return (
      <p role="alert" class="alert integrity-failed">
        {failure}
      </p>
    );
  }
  if (!opened) {
    return (
      <p class="opening" aria-live="polite">
        {step?.step === "key" ? "Releasing the key (this opening is recorded)…" : step?.step === "decrypt" ? "Decrypting and verifying…" : "Checking the submitter's signature…"}
      </p>
    );
  }
  const type = opened.metadata.mediaType;
  return (
    <div class="stack submitted-view">
      <p class={checked === "verified" ? "verified-badge" : "hint"} role="status">
        {checked === "verified"
          ? `✓ Verified: signed by the submitter (submission key ${entry.submission.signer.kid.slice(0, 8)}) at ${formatDateTime(opened.manifest.signedAt)}.`
          : "Checking every part against the submitter's signed manifest…"}
      </p>
      <div class="evidence-content">
        {type.startsWith("image/") && <img src={opened.url} alt={opened.metadata.fileName} />}
        {type.startsWith("video/") && <video src={opened.url} controls playsInline preload="metadata" aria-label={opened.metadata.fileName} />}
        {type.startsWith("audio/") && <audio src={opened.url} controls aria-label={opened.metadata.fileName} />}
        {!/^(image|video|audio)\//.test(type) && <p class="muted">This file type ({type}) can't be shown in the app. Accept it to download the original from its evidence page.</p>}
      </div>
    </div>
  );
}
