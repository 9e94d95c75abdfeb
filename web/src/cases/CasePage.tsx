/**
 * One case: its header (leads edit it, close it with its disposition, reopen it), its legal holds, members (leads add, change roles and
 * remove, which rotates the case key), its evidence with each manifest's signature checked in
 * the browser, and adding evidence (file picker, and the camera on phones) into the upload queue.
 */
import type { TargetedEvent } from "preact";
import { useEffect, useState } from "preact/hooks";
import { z } from "zod";
import type { CaseDetail, CaseMember, CaseRole, Directory, EvidenceSummary, SupervisorList } from "../../../shared/api/cases";
import type { SessionInfo, User } from "../../../shared/api/schemas";
import { decryptDetailsFromCase, type EvidenceDetails } from "../../../shared/crypto/details";
import { verifyManifest } from "../../../shared/crypto/manifest";
import { ApiError } from "../api/client";
import { casesApi } from "./api";
import { CaseHistory } from "./History";
import { addMemberBody, openCaseKey, oversightBody, removeMemberBody, supervisorsWithoutAccess } from "./crypto";
import { caseKeyOpener, decryptLabels, decryptThumbnails } from "./thumbnails";
import { ItemThumb } from "../ui/file-type";
import { db, type EvidenceLabelRow } from "../db";
import { formatBytes, formatDateTime } from "../ui/format";
import { Field, FormAlert, parseTags, SelectField, SubmitButton, TextArea, useForm } from "../ui/forms";
import { DISPOSITION_LABELS, DISPOSITIONS, dispositionLabel, type Disposition } from "../../../shared/api/retention";
import { CaseHolds } from "../retention/CaseHolds";
import type { DeviceKeys } from "../keys/store";
import { PageHeading } from "../ui/layout";
import { allPages, LoadMore, usePaged } from "../ui/paging";
import { savedAt } from "../offline/cache";
import { useReachable } from "../offline/useReachable";
import { AddEvidence } from "../upload/AddEvidence";
import { onUploadComplete } from "../upload/queue";
import { UploadList } from "../upload/UploadList";
import { CasePackagePanel, memberPackage, type PackageChoice } from "../casepkg/CasePackagePanel";
import { messageOf } from "../ui/messages";
import { caseHref } from "../ui/router";
import { CASE_ROLE_LABELS, CASE_ROLE_OPTIONS } from "./labels";
import { SharingSection } from "../sharing/SharingSection";
import { SubmissionLinksSection } from "../submissions/SubmissionLinksSection";
import { SubmittedSection } from "../submissions/SubmittedSection";
import "./cases.css";

interface Props {
  caseId: string;
  session: SessionInfo;
  keys: DeviceKeys;
}

/** True when two name maps say the same (so passing names up does not re-render the page for nothing). */
function sameNames(a: Map<string, string>, b: Map<string, string>): boolean {
  return a.size === b.size && [...a].every(([id, name]) => b.get(id) === name);
}

export function CasePage(props: Props) {
  // Offline, only what works without the server is offered: reading, adding evidence (queued).
  const reachable = useReachable();
  const [detail, setDetail] = useState<CaseDetail>();
  const [error, setError] = useState<string>();
  /** Item names this device decrypted (for the history). */
  const [itemNames, setItemNames] = useState<Map<string, string>>(new Map());
  const evidence = usePaged<EvidenceSummary>(
    (cursor) => casesApi.evidence(props.caseId, cursor).then((page) => ({ items: page.evidence, nextCursor: page.nextCursor })),
    [props.caseId],
  );

  async function load() {
    setError(undefined);
    try {
      setDetail(await casesApi.get(props.caseId));
    } catch (caught) {
      setError(caught instanceof ApiError && caught.status === 404 ? "This case doesn't exist, or you are not one of its members." : messageOf(caught));
    }
  }
  useEffect(() => {
    void load();
    return onUploadComplete((row) => {
      if (row.caseId === props.caseId) {
        evidence.reload();
        void load();
      }
    });
  }, [props.caseId]);

  if (error) {
    return (
      <>
        <PageHeading>Case</PageHeading>
        <p role="alert" class="alert">
          {error}
        </p>
        <p>
          <a href="/cases">Back to cases</a>
        </p>
      </>
    );
  }
  if (!detail) {
    return (
      <p class="muted" aria-busy="true">
        Loading case…
      </p>
    );
  }

  const isLead = detail.myRole === "lead";
  const canAdd = detail.myRole !== "viewer" && detail.status === "open";
  const saved = savedAt(detail);
  return (
    <>
      <p class="breadcrumb">
        <a href="/cases">← Cases</a>
      </p>
      {saved && (
        <p class="saved-note" role="status">
          Offline: this case as saved on this device, {formatDateTime(saved)}. Evidence you add now is encrypted here and uploads when the connection is back.
        </p>
      )}
      <CaseHeader detail={detail} onChanged={(changed) => setDetail({ ...detail, ...changed })} />
      {detail.oversight && <p class="hint">You oversee this case as a supervisor: you can open and view its evidence without being a member.</p>}
      <section aria-labelledby="evidence-heading">
        <h2 id="evidence-heading">Evidence</h2>
        {canAdd && <AddEvidence detail={detail} session={props.session} keys={props.keys} />}
        {canAdd && (
          <p>
            <a href={`/cameras?case=${detail.id}`}>Request CCTV video for this case</a>
          </p>
        )}
        {!canAdd && detail.status === "closed" && <p class="muted">This case is closed: no evidence can be added until a lead reopens it.</p>}
        <UploadList caseId={detail.id} />
        {evidence.error && !evidence.items && (
          <div class="stack">
            <p role="alert" class="alert">
              Couldn't load the evidence. {evidence.error}
            </p>
            <button type="button" onClick={evidence.reload}>
              Retry
            </button>
          </div>
        )}
        {evidence.items && <EvidenceList caseId={detail.id} items={evidence.items.filter((e) => e.status === "complete")} canAdd={canAdd} keys={props.keys} onNames={(names) => setItemNames((current) => (sameNames(current, names) ? current : names))} />}
        {evidence.items && <LoadMore hasMore={evidence.hasMore} loading={evidence.loading} error={evidence.error} noun="evidence" onMore={evidence.more} />}
      </section>
      {reachable && <SubmittedSection detail={detail} keys={props.keys} onAccepted={evidence.reload} />}
      <CaseHolds caseId={detail.id} canPlace={isLead || props.session.user.role === "admin"} />
      {isLead && reachable && <CasePackagePanel caseDetail={detail} origin={memberPackage(detail.id, props.session, props.keys)} loadItems={() => packageChoices(detail.id, props.keys)} />}
      <Members detail={detail} session={props.session} keys={props.keys} isLead={isLead} onChanged={setDetail} />
      {isLead && reachable && evidence.items && <SharingSection detail={detail} items={evidence.items.filter((e) => e.status === "complete")} keys={props.keys} />}
      {detail.myRole !== "viewer" && reachable && <SubmissionLinksSection detail={detail} />}
      {isLead && reachable && <CaseHistory caseId={detail.id} names={itemNames} people={new Map(detail.members.map((m) => [m.userId, m]))} />}
    </>
  );
}

// ---- header, edit, close and reopen -------------------------------------------------

const EditFields = z.object({
  title: z.string().trim().min(1, "Enter a title.").max(200, "At most 200 characters."),
  description: z.string().trim().max(4000, "At most 4000 characters."),
  tags: z.array(z.string().max(40, "Each tag at most 40 characters.")).max(20, "At most 20 tags."),
});

function CaseHeader(props: { detail: CaseDetail; onChanged: (changed: Partial<CaseDetail>) => void }) {
  const reachable = useReachable();
  const { detail } = props;
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [statusError, setStatusError] = useState<string>();
  const [closing, setClosing] = useState(false);
  const isLead = detail.myRole === "lead";
  const form = useForm({
    schema: EditFields,
    toBody: (values) => ({ ...values, description: values["description"] ?? "", tags: parseTags(values["tags"]) }),
    send: async (fields) => {
      props.onChanged({ ...(await casesApi.update(detail.id, fields)), description: fields.description });
      setEditing(false);
    },
  });

  async function setStatus(status: "open" | "closed", disposition?: { disposition: Disposition; dispositionNote?: string }) {
    setBusy(true);
    setStatusError(undefined);
    try {
      props.onChanged(await casesApi.update(detail.id, { status, ...disposition }));
      setClosing(false);
    } catch (caught) {
      setStatusError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  return (
    <header class="case-header">
      <p class="case-number">Case {detail.number}</p>
      <PageHeading>{detail.title}</PageHeading>
      <p class="case-meta">
        <span class={`badge badge-${detail.status}`}>{detail.status === "open" ? "Open" : "Closed"}</span>
        <span>Your role: {CASE_ROLE_LABELS[detail.myRole]}</span>
        {detail.status === "closed" && detail.disposition && (
          <span>
            Disposition: {dispositionLabel(detail.disposition)}
            {detail.closedAt ? `, closed ${formatDateTime(detail.closedAt)}` : ""}
          </span>
        )}
      </p>
      {detail.description && <p class="case-description">{detail.description}</p>}
      {detail.tags.length > 0 && (
        <p class="tags" aria-label="Tags">
          {detail.tags.map((t) => (
            <span key={t} class="tag">
              {t}
            </span>
          ))}
        </p>
      )}
      {isLead && !editing && reachable && (
        <div class="actions">
          <button type="button" onClick={() => setEditing(true)}>
            Edit case
          </button>
          {detail.status === "open" ? (
            !closing && (
              <button type="button" disabled={busy} onClick={() => setClosing(true)}>
                Close case
              </button>
            )
          ) : (
            <button type="button" disabled={busy} onClick={() => void setStatus("open")}>
              {busy ? "Reopening…" : "Reopen case"}
            </button>
          )}
        </div>
      )}
      {closing && detail.status === "open" && (
        <CloseCaseForm
          busy={busy}
          onCancel={() => setClosing(false)}
          onClose={(disposition, dispositionNote) => void setStatus("closed", { disposition, ...(dispositionNote ? { dispositionNote } : {}) })}
        />
      )}
      {statusError && (
        <p role="alert" class="alert">
          {statusError}
        </p>
      )}
      {editing && (
        <section aria-labelledby="edit-case-heading" class="card">
          <h2 id="edit-case-heading">Edit case</h2>
          <form ref={form.formRef} aria-labelledby="edit-case-heading" onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
            <FormAlert message={form.formError} />
            <Field name="title" label="Title" defaultValue={detail.title} error={form.errors["title"]} />
            <TextArea name="description" label="Description" defaultValue={detail.description} error={form.errors["description"]} />
            <Field name="tags" label="Tags (comma-separated)" required={false} defaultValue={detail.tags.join(", ")} error={form.errors["tags"]} />
            <div class="actions">
              <SubmitButton busy={form.busy} label="Save changes" busyLabel="Saving…" />
              <button type="button" onClick={() => setEditing(false)} disabled={form.busy}>
                Cancel
              </button>
            </div>
          </form>
        </section>
      )}
    </header>
  );
}

/** Closing a case records how it ended (its disposition), which starts the retention clocks counted from the close. */
function CloseCaseForm(props: { busy: boolean; onCancel: () => void; onClose: (disposition: Disposition, note: string) => void }) {
  return (
    <section aria-labelledby="close-case-heading" class="card">
      <h2 id="close-case-heading">Close case</h2>
      <p class="hint">The disposition is recorded, and evidence kept for a period after the case closes starts its clock now.</p>
      <form
        aria-labelledby="close-case-heading"
        onSubmit={(event) => {
          event.preventDefault();
          const data = new FormData(event.currentTarget);
          props.onClose(String(data.get("disposition")) as Disposition, String(data.get("dispositionNote") ?? "").trim());
        }}
      >
        <SelectField name="disposition" label="Disposition" options={DISPOSITIONS.map((value) => ({ value, label: DISPOSITION_LABELS[value] }))} defaultValue="solved" />
        <Field name="dispositionNote" label="Note (optional)" required={false} />
        <div class="actions">
          <button type="submit" class="primary" disabled={props.busy}>
            {props.busy ? "Closing…" : "Close case"}
          </button>
          <button type="button" onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
        </div>
      </form>
    </section>
  );
}

// ---- the evidence list ----------------------------------------------------------------

type Signature = { state: "checking" } | { state: "ok"; signer: string } | { state: "bad"; why: string };

function EvidenceList(props: { caseId: string; items: EvidenceSummary[]; canAdd: boolean; keys: DeviceKeys; onNames?: (names: Map<string, string>) => void }) {
  const [labels, setLabels] = useState<Map<string, EvidenceLabelRow>>(new Map());
  const [details, setDetails] = useState<Map<string, EvidenceDetails>>(new Map());
  const [find, setFind] = useState("");
  const [thumbnails, setThumbnails] = useState<Map<string, string>>(new Map());
  const [signatures, setSignatures] = useState<Map<string, Signature>>(new Map());
  const [kept, setKept] = useState<Set<string>>(new Set());
  const reachable = useReachable();
  useEffect(() => {
    db.keptOffline.where("caseId").equals(props.caseId).primaryKeys().then((ids) => setKept(new Set(ids)), () => undefined);
  }, [props.caseId, props.items]);

  useEffect(() => {
    let stale = false;
    void (async () => {
      const found = await db.evidenceLabels.bulkGet(props.items.map((i) => i.id));
      const known = new Map(found.filter((r): r is EvidenceLabelRow => !!r).map((r) => [r.evidenceId, r]));
      // Merged, never replaced: a name decrypted before stays while the list is read again (a
      // replaced map would drop it, change the case's names and render the list again, in a loop).
      if (!stale) setLabels((current) => (known.size === 0 ? current : new Map([...current, ...known])));
      // The thumbnails, fetched apart from the list and opened alongside the rest (they never hold up the names).
      void decryptThumbnails(props.caseId, props.items, props.keys).then(
        (opened) => {
          if (!stale) setThumbnails(opened);
        },
        () => undefined,
      );
      // Names of the rest, from their labels: encrypted to the case key, which this member holds.
      const named = await decryptLabels(props.caseId, props.items, props.keys, (item) => !known.has(item.id)).catch(() => undefined);
      if (named && !stale) setLabels((current) => new Map([...current, ...known, ...named]));
      // Edited titles, descriptions and tags, from the members' copy (to the case key).
      const edited = await decryptItemDetails(props.caseId, props.items, props.keys).catch(() => new Map<string, EvidenceDetails>());
      if (!stale) setDetails(edited);
      // Kept with the device's item names, so the Audit page names these items by their titles too.
      for (const [id, d] of edited) if (d.title) void db.evidenceLabels.update(id, { title: d.title }).catch(() => undefined);
      // Each manifest's signature, checked here against the signer's registered key (no key release needed).
      const signers = new Map<string, Promise<Awaited<ReturnType<typeof casesApi.signer>>>>();
      for (const item of props.items) {
        if (signatures.get(item.id)?.state === "ok") continue;
        if (item.manifest === "") continue; // an upload started before its manifest: signed at completion
        let signer = signers.get(item.signerKid);
        if (!signer) signers.set(item.signerKid, (signer = casesApi.signer(item.signerKid)));
        let result: Signature;
        try {
          const key = await signer;
          await verifyManifest(item.manifest, key.publicJwk);
          result = { state: "ok", signer: key.owner.name };
        } catch (caught) {
          result = { state: "bad", why: caught instanceof ApiError ? caught.message : "the signature does not verify" };
        }
        if (stale) return;
        setSignatures((current) => new Map(current).set(item.id, result));
      }
    })();
    return () => {
      stale = true;
    };
  }, [props.items]);

  useEffect(
    () => props.onNames?.(new Map([...labels].map(([id, label]) => [id, details.get(id)?.title || label.fileName]))),
    [labels, details],
  );
  // Found on this device, in what it decrypted: the server never sees titles, tags or file names.
  const needle = find.trim().toLowerCase();
  const shown = needle
    ? props.items.filter((item) => {
        const d = details.get(item.id);
        const text = [labels.get(item.id)?.fileName ?? "", d?.title ?? "", d?.description ?? "", ...(d?.tags ?? [])].join("\n").toLowerCase();
        return text.includes(needle);
      })
    : props.items;

  if (props.items.length === 0) {
    return <p class="empty">No evidence yet. {props.canAdd ? "Add photos, videos or documents above: they are encrypted on this device first." : ""}</p>;
  }
  return (
    <>
      <search class="evidence-find" aria-label="Find evidence">
        <div class="field">
          <label for={`find-${props.caseId}`}>Find in this case</label>
          <input
            id={`find-${props.caseId}`}
            type="search"
            value={find}
            placeholder="Title, tag, description or file name"
            onInput={(e: TargetedEvent<HTMLInputElement>) => setFind(e.currentTarget.value)}
          />
        </div>
      </search>
      {shown.length === 0 && <p class="empty">No item matches “{find.trim()}”.</p>}
    <ul class="evidence-list" aria-label="Evidence items">
      {shown.map((item) => {
        const label = labels.get(item.id);
        const edited = details.get(item.id);
        const signature = signatures.get(item.id) ?? { state: "checking" };
        const name = edited?.title || label?.fileName || "Encrypted file";
        return (
          <li key={item.id}>
            <a class="evidence-card" href={caseHref(props.caseId, item.id)} aria-label={`Open ${name}, ${formatBytes(item.byteSize)}, added by ${item.uploader.name}`}>
              <ItemThumb mediaType={label?.mediaType} src={thumbnails.get(item.id)} />
              <span class="evidence-card-text">
                <span class="evidence-name">{name}</span>
                {edited?.title && label && <span class="evidence-file">{label.fileName}</span>}
                {edited && edited.tags.length > 0 && (
                  <span class="tags">
                    {edited.tags.map((t) => (
                      <span key={t} class="tag">
                        {t}
                      </span>
                    ))}
                  </span>
                )}
                <span class="evidence-meta">
                  {formatBytes(item.byteSize)} · {item.uploader.name} · {formatDateTime(item.completedAt ?? item.createdAt)}
                </span>
                {item.source && <span class="badge badge-source">Submitted through “{item.source.linkLabel}”</span>}
                <span class={`badge badge-sig-${signature.state}`}>
                  {signature.state === "checking" ? "Checking signature…" : signature.state === "ok" ? `Signed by ${signature.signer}` : "Signature does not verify"}
                </span>
                {kept.has(item.id) && <span class="badge badge-offline">Kept offline</span>}
                {!reachable && !kept.has(item.id) && <span class="hint">Not kept offline: opens when back online.</span>}
                {!label && <span class="hint">Open it to decrypt its name (the opening is recorded).</span>}
              </span>
            </a>
          </li>
        );
      })}
    </ul>
    </>
  );
}

/** Every complete item of the case, named from its label, for the case package's choice. */
async function packageChoices(caseId: string, me: DeviceKeys): Promise<PackageChoice[]> {
  const items = (await allPages((cursor) => casesApi.evidence(caseId, cursor).then((page) => ({ items: page.evidence, nextCursor: page.nextCursor })), 400)).filter((e) => e.status === "complete");
  const labels = await decryptLabels(caseId, items, me);
  const details = await decryptItemDetails(caseId, items, me).catch(() => new Map<string, EvidenceDetails>());
  return items.map((item) => ({
    ref: { id: item.id, manifest: item.manifest, signerKid: item.signerKid, ...(item.filing ? { filing: item.filing } : {}) },
    name: details.get(item.id)?.title || labels.get(item.id)?.fileName || `Encrypted file ${item.id.slice(0, 8)}`,
    byteSize: item.byteSize,
  }));
}

/** The latest edited details of `items`, from the members' copy (to a case key this member holds); others are left out. */
async function decryptItemDetails(caseId: string, items: EvidenceSummary[], me: DeviceKeys): Promise<Map<string, EvidenceDetails>> {
  const out = new Map<string, EvidenceDetails>();
  const withCopy = items.filter((item) => item.details?.caseCopy);
  if (withCopy.length === 0) return out;
  const caseKey = caseKeyOpener(caseId, me);
  for (const item of withCopy) {
    const copy = item.details!.caseCopy!;
    const key = await caseKey(copy.caseKid);
    if (!key) continue;
    try {
      out.set(item.id, await decryptDetailsFromCase(copy.jwe, key));
    } catch {
      // Shown by its file name; opening the item shows every version.
    }
  }
  return out;
}


// ---- members ----------------------------------------------------------------------------

function Members(props: { detail: CaseDetail; session: SessionInfo; keys: DeviceKeys; isLead: boolean; onChanged: (detail: CaseDetail) => void }) {
  const { detail } = props;
  const leads = detail.members.filter((m) => m.role === "lead").length;
  const reachable = useReachable();
  return (
    <section aria-labelledby="members-heading">
      <h2 id="members-heading">Members</h2>
      <ul class="member-list">
        {detail.members.map((member) => (
          <MemberRow
            key={member.userId}
            member={member}
            detail={detail}
            isMe={member.userId === props.session.user.id}
            isLead={props.isLead && reachable}
            lastLead={member.role === "lead" && leads === 1}
            onChanged={props.onChanged}
          />
        ))}
      </ul>
      {detail.overseers.length > 0 && (
        <>
          <h3 id="oversight-heading">Oversight</h3>
          <p class="hint">Supervisors who can open this case without being members: its keys are wrapped to them too.</p>
          <ul class="member-list" aria-labelledby="oversight-heading">
            {detail.overseers.map((o) => (
              <li class="member" key={o.userId}>
                <p class="member-name">
                  <strong>{o.name}</strong>
                  {o.userId === props.session.user.id && <span class="you"> (you)</span>}
                </p>
                <p class="muted member-email">{o.email}</p>
                <p>Oversight (supervisor)</p>
              </li>
            ))}
          </ul>
        </>
      )}
      {props.isLead && reachable && <GiveSupervisorsAccess detail={detail} keys={props.keys} onChanged={props.onChanged} />}
      {props.isLead && reachable && <AddMember detail={detail} keys={props.keys} onChanged={props.onChanged} />}
    </section>
  );
}

/** For a lead: supervisors who cannot open this case yet (it is older than their role) get its keys, re-wrapped on this device. */
function GiveSupervisorsAccess(props: { detail: CaseDetail; keys: DeviceKeys; onChanged: (detail: CaseDetail) => void }) {
  const [supervisors, setSupervisors] = useState<SupervisorList["supervisors"]>();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  useEffect(() => {
    casesApi.supervisors().then(
      (list) => setSupervisors(list.supervisors),
      () => setSupervisors([]),
    );
  }, []);
  const missing = supervisors ? supervisorsWithoutAccess(props.detail, supervisors) : [];
  if (missing.length === 0) return null;
  async function give() {
    setBusy(true);
    setError(undefined);
    try {
      props.onChanged(await casesApi.addOversight(props.detail.id, await oversightBody(props.detail.id, missing, props.keys)));
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="card stack">
      <p>
        {missing.map((s) => s.name).join(", ")} {missing.length === 1 ? "is a supervisor" : "are supervisors"} but cannot open this case yet. Giving access wraps every key of the case to{" "}
        {missing.length === 1 ? "their key" : "their keys"} on this device; no file is touched.
      </p>
      <button type="button" disabled={busy} onClick={() => void give()}>
        {busy ? "Giving access…" : "Give supervisors access"}
      </button>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function MemberRow(props: { member: CaseMember; detail: CaseDetail; isMe: boolean; isLead: boolean; lastLead: boolean; onChanged: (detail: CaseDetail) => void }) {
  const { member } = props;
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string>();

  async function run(action: () => Promise<CaseDetail>) {
    setBusy(true);
    setError(undefined);
    try {
      props.onChanged(await action());
      setConfirming(false);
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
    }
  }

  const roleId = `role-${member.userId}`;
  return (
    <li class="member">
      <p class="member-name">
        <strong>{member.name}</strong>
        {props.isMe && <span class="you"> (you)</span>}
      </p>
      <p class="muted member-email">{member.email}</p>
      {props.isLead ? (
        <div class="member-actions">
          <div class="field">
            <label for={roleId}>Role for {member.name}</label>
            <select
              id={roleId}
              value={member.role}
              disabled={busy}
              onChange={(e: TargetedEvent<HTMLSelectElement>) => {
                const role = e.currentTarget.value as CaseRole;
                void run(() => casesApi.changeRole(props.detail.id, member.userId, role));
              }}
            >
              {CASE_ROLE_OPTIONS.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          </div>
          {!props.lastLead && !confirming && (
            <button type="button" disabled={busy} onClick={() => setConfirming(true)} aria-label={`Remove ${member.name}`}>
              Remove
            </button>
          )}
        </div>
      ) : (
        <p>{CASE_ROLE_LABELS[member.role]}</p>
      )}
      {confirming && (
        <div class="confirm" role="group" aria-label={`Remove ${member.name}?`}>
          <p>
            Remove {member.name} from this case? A new case key is made on this device: evidence added from now on is out of their reach. What they could open before stays in the audit trail.
          </p>
          <div class="actions">
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => void run(async () => casesApi.removeMember(props.detail.id, member.userId, await removeMemberBody(props.detail, member.userId)))}
            >
              {busy ? "Removing…" : `Remove ${member.name}`}
            </button>
            <button type="button" disabled={busy} onClick={() => setConfirming(false)}>
              Keep
            </button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
    </li>
  );
}

function AddMember(props: { detail: CaseDetail; keys: DeviceKeys; onChanged: (detail: CaseDetail) => void }) {
  const [users, setUsers] = useState<Directory["people"]>();
  const [loadError, setLoadError] = useState<string>();
  useEffect(() => {
    casesApi.directory().then(
      (list) => setUsers(list.people),
      (caught: unknown) => setLoadError(messageOf(caught)),
    );
  }, []);
  // A supervisor who oversees the case can still be made a member (their oversight gives way to it).
  const candidates = (users ?? []).filter((u) => !props.detail.members.some((m) => m.userId === u.id));
  const form = useForm({
    schema: z.object({ userId: z.string().regex(/^[0-9a-f]{32}$/, "Pick a person."), role: z.enum(["lead", "contributor", "viewer"]) }),
    send: async ({ userId, role }) => {
      props.onChanged(await casesApi.addMember(props.detail.id, await addMemberBody(props.detail.id, userId, role, props.keys)));
    },
  });
  return (
    <section aria-labelledby="add-member-heading" class="card">
      <h3 id="add-member-heading">Add member</h3>
      {loadError && (
        <p role="alert" class="alert">
          Couldn't load the people in your organisation. {loadError}
        </p>
      )}
      {users && candidates.length === 0 && <p class="muted">Everyone who can join is already a member. Invite people under Admin → Users first.</p>}
      {candidates.length > 0 && (
        <form ref={form.formRef} aria-labelledby="add-member-heading" onSubmit={form.onSubmit} onInput={form.onInput} noValidate>
          <FormAlert message={form.formError} />
          <div class="field">
            <label for="field-userId">Person</label>
            <select id="field-userId" name="userId" aria-invalid={form.errors["userId"] ? true : undefined}>
              <option value="">Choose…</option>
              {candidates.map((u) => (
                <option key={u.id} value={u.id} disabled={!u.hasKeys}>
                  {u.name} ({u.email}){u.hasKeys ? "" : " — has not created keys yet"}
                </option>
              ))}
            </select>
            {form.errors["userId"] && <p class="field-error">{form.errors["userId"]}</p>}
          </div>
          <div class="field">
            <label for="field-role">Case role</label>
            <select id="field-role" name="role">
              {CASE_ROLE_OPTIONS.map((o) => (
                <option key={o.value} value={o.value} selected={o.value === "contributor"}>
                  {o.label}
                </option>
              ))}
            </select>
          </div>
          <p class="hint">Every key of the case is re-wrapped on this device to the new member's key; no file is touched.</p>
          <SubmitButton busy={form.busy} label="Add member" busyLabel="Adding…" />
        </form>
      )}
    </section>
  );
}
