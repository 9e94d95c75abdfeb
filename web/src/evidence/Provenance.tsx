/**
 * Where a requested video came from, on its evidence page: the camera (from the metadata signed
 * and encrypted by the site's agent) and the request's history (who asked, when it was
 * exported, who approved it, when it arrived).
 */
import { useEffect, useState } from "preact/hooks";
import { describeOperation, isRedaction, type DerivedFrom } from "../../../shared/crypto/manifest";
import type { VideoRequest } from "../../../shared/api/video";
import type { EvidenceSource } from "../../../shared/api/cases";
import { unwrapCaseKey } from "../../../shared/crypto/keys";
import { unwrapSubmissionKey } from "../../../shared/crypto/submission";
import { decryptSubmissionDetails, type SubmissionDetails } from "../../../shared/crypto/submission";
import { casesApi } from "../cases/api";
import type { DeviceKeys } from "../keys/store";
import type { EvidenceMetadata } from "../../../shared/crypto/index";
import { formatDateTime } from "../ui/format";
import { caseHref } from "../ui/router";
import { facing } from "../video/format";
import { videoApi } from "../video/api";
import { formatPosition } from "./VideoPlayer";

/** Operations listed one by one before "and N more". */
const OPERATIONS_SHOWN = 50;

/**
 * On a derived item (a clip or a redacted copy, docs/evidence-format.md §6.1 and §6.3): which
 * original it was made from, by its SHA-512, and how, from the signed manifest. A redacted copy
 * lists each operation in words (what was hidden where, never what was there).
 */
export function DerivedProvenance(props: { caseId: string; derivedFrom: DerivedFrom }) {
  const { derivedFrom } = props;
  const redaction = isRedaction(derivedFrom);
  const operations = derivedFrom.operations;
  const what = redaction
    ? "A redacted copy"
    : operations.map((op) => (op.type === "clip" ? `A clip from ${formatPosition(op.from)} to ${formatPosition(op.to)}` : describeOperation(op))).join("; ");
  return (
    <section aria-labelledby="derived-heading" class="derived-from">
      <h2 id="derived-heading">Derived from another item</h2>
      <p>
        {what} of <a href={caseHref(props.caseId, derivedFrom.evidenceId)}>the original item</a> (SHA-512 <code title={derivedFrom.sha512}>{derivedFrom.sha512.slice(0, 16)}…</code>), as signed in
        this item's manifest. The original is unchanged.
      </p>
      {redaction && (
        <>
          <p>What was done to make it, in the original's coordinates (what was hidden is not in this copy):</p>
          <ol aria-label="Operations">
            {operations.slice(0, OPERATIONS_SHOWN).map((op, i) => (
              <li key={i}>{describeOperation(op)}</li>
            ))}
            {operations.length > OPERATIONS_SHOWN && <li>and {operations.length - OPERATIONS_SHOWN} more</li>}
          </ol>
        </>
      )}
    </section>
  );
}

export function VideoProvenance(props: { requestId: string; camera: EvidenceMetadata["camera"] }) {
  const [request, setRequest] = useState<VideoRequest | null>();
  useEffect(() => {
    void videoApi.request(props.requestId).then(setRequest, () => setRequest(null));
  }, [props.requestId]);
  const camera = props.camera ?? {};
  const text = (key: string) => (typeof camera[key] === "string" ? (camera[key] as string) : undefined);
  const num = (key: string) => (typeof camera[key] === "number" ? (camera[key] as number) : null);
  const lat = num("latitude");
  const lon = num("longitude");
  return (
    <section class="card" aria-labelledby="provenance-heading">
      <h2 id="provenance-heading">Requested video</h2>
      <dl class="request-facts">
        <dt>Camera</dt>
        <dd>
          {[text("name"), text("siteName"), facing(num("direction")), lat !== null && lon !== null ? `${lat.toFixed(5)}, ${lon.toFixed(5)}` : ""].filter(Boolean).join(" · ")}
          {text("recorderId") ? ` (recorder ${text("recorderId")})` : ""}
        </dd>
        {text("footageStart") && text("footageEnd") && (
          <>
            <dt>Footage</dt>
            <dd>
              {formatDateTime(text("footageStart")!)} to {formatDateTime(text("footageEnd")!)}
            </dd>
          </>
        )}
        {request && (
          <>
            <dt>Requested</dt>
            <dd>
              {formatDateTime(request.createdAt)} by {request.requestedBy.name}: “{request.reason}”
            </dd>
            {request.exportedAt && (
              <>
                <dt>Exported</dt>
                <dd>{formatDateTime(request.exportedAt)} at the site, held encrypted</dd>
              </>
            )}
            {request.decidedBy && request.decidedAt && (
              <>
                <dt>Approved</dt>
                <dd>
                  {formatDateTime(request.decidedAt)} by {request.decidedBy.name}
                </dd>
              </>
            )}
            {request.deliveredAt && (
              <>
                <dt>Delivered</dt>
                <dd>{formatDateTime(request.deliveredAt)}</dd>
              </>
            )}
          </>
        )}
        <dt>Request</dt>
        <dd>
          <code>{props.requestId}</code> (named in the signed manifest)
        </dd>
      </dl>
    </section>
  );
}

/**
 * Where evidence accepted from a submission link came from (docs/submissions.md §5): the link, the
 * submitter's name, contact and statement (decrypted here: case key -> submission key), their
 * signing key (made in their browser: not a registered user), when and from where they sent it,
 * and who accepted it.
 */
export function SubmissionProvenance(props: { source: EvidenceSource; caseId: string; keys: DeviceKeys }) {
  const { source } = props;
  const [details, setDetails] = useState<SubmissionDetails | null>();
  useEffect(() => {
    if (!source.details) return setDetails(null);
    void (async () => {
      const { keys } = await casesApi.keys(props.caseId);
      const wrap = keys.find((k) => k.kid === source.caseKid)?.wrap;
      if (!wrap) return setDetails(null);
      const submissionKey = await unwrapSubmissionKey(source.submissionKeyWrap, (await unwrapCaseKey(wrap, props.keys.encryption)).privateKey);
      setDetails(await decryptSubmissionDetails(source.details!, submissionKey.privateKey));
    })().catch(() => setDetails(null));
  }, [source.submissionId]);
  return (
    <section class="card" aria-labelledby="submission-provenance-heading">
      <h2 id="submission-provenance-heading">Submitted through a link</h2>
      <dl class="request-facts">
        <dt>Link</dt>
        <dd>“{source.linkLabel}”</dd>
        <dt>Sent by</dt>
        <dd>
          {details === undefined ? "Decrypting…" : details?.name ?? "No name given"}
          {details?.contact ? ` · ${details.contact}` : ""}
        </dd>
        {details?.statement && (
          <>
            <dt>Statement</dt>
            <dd class="statement">{details.statement}</dd>
          </>
        )}
        <dt>Signed by</dt>
        <dd>The submitter, with a key made in their browser for this submission (submission key {source.signerKid.slice(0, 8)}…), not a registered user</dd>
        <dt>Sent</dt>
        <dd>
          {formatDateTime(source.sentAt)}
          {source.ip ? ` from ${source.ip}` : ""}
        </dd>
        <dt>Accepted</dt>
        <dd>
          {formatDateTime(source.acceptedAt)} by {source.acceptedBy.name}
        </dd>
      </dl>
    </section>
  );
}
