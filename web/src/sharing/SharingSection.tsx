/**
 * A case's shares, for its leads (docs/disclosure.md): who has what, at which level, until when,
 * their receipts; share the case or chosen items with a guest or through a link; extend, change,
 * renew a link's access code, revoke. The keys are wrapped here, in the browser.
 */
import type { JWK } from "jose";
import { useEffect, useState } from "preact/hooks";
import type { CaseDetail, EvidenceSummary } from "../../../shared/api/cases";
import { SHARE_DEFAULT_DAYS, SHARE_MAX_DAYS, type Guest, type ShareLevel, type ShareSummary } from "../../../shared/api/shares";
import { decryptLabel } from "../../../shared/crypto/label";
import { casesApi } from "../cases/api";
import { unwrapCaseKey } from "../../../shared/crypto/keys";
import type { DeviceKeys } from "../keys/store";
import { formatDateTime } from "../ui/format";
import { messageOf } from "../ui/messages";
import { sharesApi } from "./api";
import { linkUrl, missingCaseKeyWraps, newShareBody, type ShareTarget } from "./crypto";
import { LEVEL_LABELS, SCOPE_TEXT, STATUS_LABELS } from "./labels";
import { CopyField } from "./CopyField";
import { saveReceipt } from "./receipt-file";
import "./sharing.css";

const DAY_MS = 86_400_000;
const dateInput = (ms: number) => new Date(ms).toISOString().slice(0, 10);
/** The end of the chosen day, local time, as ISO. */
/** A mailto: for a link share, composed here: the link (with its secret) goes from this browser to the sharer's own mail app, never to the server; the access code is not in it. */
function linkMailto(caseNumber: string, url: string): string {
  const subject = `Evidence shared with you: case ${caseNumber}`;
  const body = `Evidence from case ${caseNumber} is shared with you. Open this link:\n\n${url}\n\nYou will also need an access code, which I will give you separately.\n`;
  return `mailto:?subject=${encodeURIComponent(subject)}&body=${encodeURIComponent(body)}`;
}

const endOfDay = (date: string) => new Date(`${date}T23:59:00`).toISOString();

export function SharingSection(props: { detail: CaseDetail; items: EvidenceSummary[]; keys: DeviceKeys }) {
  const [shares, setShares] = useState<ShareSummary[]>();
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<{ share: ShareSummary; url: string | null; accessCode: string | null; notified?: boolean }>();
  const [creating, setCreating] = useState(false);

  async function load() {
    try {
      setShares((await sharesApi.list(props.detail.id)).shares);
    } catch (caught) {
      setError(`Couldn't load the shares. ${messageOf(caught)}`);
    }
  }
  useEffect(() => void load(), [props.detail.id]);

  return (
    <section aria-labelledby="sharing-heading" class="sharing">
      <h2 id="sharing-heading">Sharing</h2>
      <p class="hint">Share evidence with prosecutors, defence, courts and other agencies. Keys are wrapped to the recipient on this device; the server can't open a share.</p>
      {error && (
        <p role="alert" class="alert">
          {error}
        </p>
      )}
      {created && (
        <div class="card share-created" role="status">
          <h3>Shared with {created.share.recipient.label}</h3>
          {created.url ? (
            <>
              <CopyField label="Link" value={created.url} />
              <p>
                <a class="button secondary" href={linkMailto(props.detail.number, created.url)}>
                  Email this link
                </a>
              </p>
              <CopyField label="Access code" value={created.accessCode ?? ""} />
              <p class="hint">
                Send the link (“Email this link” opens your own mail app; the link never passes through this server), and give the access code another way: by phone, or another channel. Five wrong codes lock the link. This is the only time the link and code are shown.
              </p>
            </>
          ) : created.accessCode ? (
            <>
              <CopyField label="Access code" value={created.accessCode} />
              <p class="hint">The new access code replaces the old one; a locked link opens again. Give it to the recipient separately.</p>
            </>
          ) : (
            <p>{created.notified ? `${created.share.recipient.label} was emailed that it is shared with them, and sees it after signing in.` : `${created.share.recipient.label} sees it after signing in. No email could be sent: tell them it is there.`}</p>
          )}
          <button type="button" class="secondary" onClick={() => setCreated(undefined)}>
            Done
          </button>
        </div>
      )}
      {shares && shares.length === 0 && <p class="muted">Nothing of this case is shared.</p>}
      {shares && shares.length > 0 && (
        <ul class="share-list" aria-label="Shares">
          {shares.map((share) => (
            <ShareCard key={share.id} share={share} keys={props.keys} onChanged={load} onNewCode={(s, code) => setCreated({ share: s, url: null, accessCode: code })} />
          ))}
        </ul>
      )}
      {creating ? (
        <NewShare
          detail={props.detail}
          items={props.items}
          keys={props.keys}
          onCancel={() => setCreating(false)}
          onShared={(result) => {
            setCreating(false);
            setCreated(result);
            void load();
          }}
        />
      ) : (
        <button type="button" class="primary" onClick={() => setCreating(true)}>
          Share…
        </button>
      )}
    </section>
  );
}

function ShareCard(props: { share: ShareSummary; keys: DeviceKeys; onChanged: () => Promise<void>; onNewCode: (share: ShareSummary, code: string) => void }) {
  const { share } = props;
  const [busy, setBusy] = useState<string>();
  const [error, setError] = useState<string>();
  const open = share.status === "active" || share.status === "locked";

  async function act(label: string, run: () => Promise<unknown>) {
    setBusy(label);
    setError(undefined);
    try {
      await run();
      await props.onChanged();
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <li class="card share-card">
      <h3>
        {share.recipient.label} <span class={`badge share-${share.status}`}>{STATUS_LABELS[share.status]}</span>
      </h3>
      <p class="muted">
        {share.recipient.type === "guest" ? `Guest${share.recipient.email ? `, ${share.recipient.email}` : ""}` : "Link with access code"} · {SCOPE_TEXT(share)} · {LEVEL_LABELS[share.level]}
      </p>
      <p class="muted">
        {share.status === "revoked" ? `Revoked ${formatDateTime(share.revokedAt!)}` : `${share.status === "expired" ? "Expired" : "Until"} ${formatDateTime(share.expiresAt)}`} · shared by {share.createdBy.name}{" "}
        {formatDateTime(share.createdAt)}
      </p>
      {share.receipts.length > 0 ? (
        <ul class="receipts" aria-label={`Receipts from ${share.recipient.label}`}>
          {share.receipts.map((receipt) => (
            <li key={receipt.id}>
              Received by {receipt.recipientName}, {formatDateTime(receipt.receivedAt)} ({receipt.itemCount} {receipt.itemCount === 1 ? "item" : "items"}){" "}
              <button type="button" class="small" onClick={() => void act("receipt", async () => saveReceipt(await sharesApi.receipt(share.id, receipt.id), `receipt-${receipt.id.slice(0, 8)}`))}>
                Download receipt<span class="visually-hidden"> from {receipt.recipientName}</span>
              </button>
            </li>
          ))}
        </ul>
      ) : (
        <p class="muted">No receipt signed yet.</p>
      )}
      {open && share.missingCaseKeys.length > 0 && (
        <div class="notice" role="status">
          <p>Items added since a member was removed are under a new case key this share doesn't hold: {share.recipient.label} can't open them yet.</p>
          <button type="button" class="secondary" disabled={!!busy} onClick={() => void act("keys", async () => sharesApi.addCaseKeys(share.id, { caseKeys: await missingCaseKeyWraps(share.caseId, { shareKey: share.shareKey as JWK, missingCaseKeys: share.missingCaseKeys }, props.keys) }))}>
            Open new items for {share.recipient.label}
          </button>
        </div>
      )}
      {open && (
        <div class="actions">
          <button type="button" class="secondary" disabled={!!busy} onClick={() => void act("extend", () => sharesApi.update(share.id, { expiresAt: new Date(Math.min(Date.parse(share.expiresAt), Date.now()) + SHARE_DEFAULT_DAYS * DAY_MS).toISOString() }))}>
            Extend 30 days<span class="visually-hidden"> for {share.recipient.label}</span>
          </button>
          <label class="inline-select">
            <span class="visually-hidden">Level for {share.recipient.label}</span>
            <select value={share.level} disabled={!!busy} onChange={(event) => void act("level", () => sharesApi.update(share.id, { level: (event.currentTarget as HTMLSelectElement).value as ShareLevel }))}>
              {(Object.keys(LEVEL_LABELS) as ShareLevel[]).map((level) => (
                <option key={level} value={level}>
                  {LEVEL_LABELS[level]}
                </option>
              ))}
            </select>
          </label>
          {share.recipient.type === "link" && (
            <button type="button" class="secondary" disabled={!!busy} onClick={() => void act("code", async () => { const renewed = await sharesApi.newAccessCode(share.id); props.onNewCode(renewed.share, renewed.accessCode!); })}>
              New access code<span class="visually-hidden"> for {share.recipient.label}</span>
            </button>
          )}
          <button
            type="button"
            class="danger"
            disabled={!!busy}
            onClick={() => {
              if (confirm(`Revoke the share with ${share.recipient.label}? They lose access at once.`)) void act("revoke", () => sharesApi.revoke(share.id));
            }}
          >
            {busy === "revoke" ? "Revoking…" : "Revoke"}
            <span class="visually-hidden"> share with {share.recipient.label}</span>
          </button>
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

function NewShare(props: { detail: CaseDetail; items: EvidenceSummary[]; keys: DeviceKeys; onCancel: () => void; onShared: (result: { share: ShareSummary; url: string | null; accessCode: string | null; notified: boolean }) => void }) {
  const [kind, setKind] = useState<"guest" | "link">("guest");
  const [guests, setGuests] = useState<Guest[]>();
  const [guestId, setGuestId] = useState("");
  const [whole, setWhole] = useState(true);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [names, setNames] = useState<Map<string, string>>(new Map());
  const [busy, setBusy] = useState(false);
  const [progress, setProgress] = useState<string>();
  const [error, setError] = useState<string>();
  const [invited, setInvited] = useState<{ name: string; email: string; url: string | null; sent: boolean }>();
  const now = Date.now();

  async function loadGuests(select?: string) {
    const list = (await sharesApi.guests()).guests;
    setGuests(list);
    if (select) setGuestId(select);
    else if (!guestId && list[0]) setGuestId(list[0].id);
  }
  useEffect(() => {
    loadGuests().catch((caught) => setError(messageOf(caught)));
    // Names of the items, for choosing: labels open with the case keys this lead holds.
    (async () => {
      const { keys } = await casesApi.keys(props.detail.id);
      const out = new Map<string, string>();
      for (const item of props.items) {
        const wrap = keys.find((k) => k.kid === item.caseKid)?.wrap;
        if (!wrap || !item.label) continue;
        try {
          out.set(item.id, (await decryptLabel(item.label, (await unwrapCaseKey(wrap, props.keys.encryption)).privateKey)).fileName);
        } catch {
          // Shown by id.
        }
      }
      setNames(out);
    })().catch(() => undefined);
  }, []);

  async function invite(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setError(undefined);
    try {
      const result = await sharesApi.inviteGuest(props.detail.id, { email: String(form.get("email") ?? ""), name: String(form.get("guestName") ?? "") });
      setInvited({ name: result.guest.name, email: result.guest.email, url: result.invitation ? `${location.origin}/invite#token=${encodeURIComponent(result.invitation.token)}` : null, sent: result.sent });
      await loadGuests(result.guest.id);
    } catch (caught) {
      setError(messageOf(caught));
    }
  }

  async function submit(event: Event) {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setError(undefined);
    let target: ShareTarget;
    if (kind === "guest") {
      const guest = guests?.find((g) => g.id === guestId);
      if (!guest) return setError("Choose a guest, or invite one first.");
      if (!guest.encryptionKey) return setError(`${guest.name} hasn't set up their account yet. Share once they have signed in and made their keys.`);
      target = { type: "guest", guest };
    } else {
      const label = String(form.get("label") ?? "").trim();
      if (!label) return setError("Say who the link is for.");
      target = { type: "link", label };
    }
    if (!whole && chosen.size === 0) return setError("Choose at least one item, or share the whole case.");
    const expires = String(form.get("expires") ?? "");
    if (!expires) return setError("Choose when the share ends.");
    setBusy(true);
    try {
      const { body, secret } = await newShareBody(
        { caseId: props.detail.id, target, itemIds: whole ? null : [...chosen], includeLater: form.get("later") === "on", level: String(form.get("level")) as ShareLevel, expiresAt: endOfDay(expires) },
        props.keys,
        (done, total) => setProgress(`Wrapping keys: ${done} of ${total}…`),
      );
      const result = await sharesApi.create(props.detail.id, body);
      props.onShared({ share: result.share, url: secret ? linkUrl(body.id, secret) : null, accessCode: result.accessCode, notified: result.notified ?? false });
    } catch (caught) {
      setError(messageOf(caught));
    } finally {
      setBusy(false);
      setProgress(undefined);
    }
  }

  return (
    <div class="card new-share">
      <h3>New share</h3>
      <fieldset>
        <legend>Share with</legend>
        <label>
          <input type="radio" name="kind" checked={kind === "guest"} onChange={() => setKind("guest")} /> A guest (an account of their own)
        </label>
        <label>
          <input type="radio" name="kind" checked={kind === "link"} onChange={() => setKind("link")} /> A link with an access code
        </label>
      </fieldset>
      {kind === "guest" && (
        <form class="stack" onSubmit={(event) => void invite(event)} aria-label="Invite a guest">
          <p class="hint">Invite someone outside the organisation by email address: they set a password and a second factor, and see only what is shared with them.</p>
          <label>
            Guest's email
            <input name="email" type="email" required autocomplete="off" />
          </label>
          <label>
            Guest's name
            <input name="guestName" required autocomplete="off" />
          </label>
          <button type="submit" class="secondary">
            Invite guest
          </button>
          {invited && (
            <div role="status">
              {invited.url ? (
                <>
                  <CopyField label="Invitation link" value={invited.url} />
                  <p class="hint">No email could be sent: send {invited.name} this link. It works once, for 7 days. Share with them once they have set up their account.</p>
                </>
              ) : invited.sent ? (
                <p>
                  {invited.name}'s invitation was emailed to {invited.email}. Share with them once they have set up their account.
                </p>
              ) : (
                <p>{invited.name} already has an account.</p>
              )}
            </div>
          )}
        </form>
      )}
      <form class="stack" onSubmit={(event) => void submit(event)} aria-label="New share">
        {kind === "guest" ? (
          <label>
            Guest
            <select value={guestId} onChange={(event) => setGuestId((event.currentTarget as HTMLSelectElement).value)}>
              {(guests ?? []).map((guest) => (
                <option key={guest.id} value={guest.id}>
                  {guest.name} ({guest.email}){guest.encryptionKey ? "" : guest.status === "invited" ? ", invited" : ", no keys yet"}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Who the link is for
            <input name="label" placeholder="e.g. Defence counsel, R v Smith" autocomplete="off" />
          </label>
        )}
        <fieldset>
          <legend>What</legend>
          <label>
            <input type="radio" name="scope" checked={whole} onChange={() => setWhole(true)} /> The whole case
          </label>
          {whole && (
            <label class="indent">
              <input type="checkbox" name="later" /> Include items added later
            </label>
          )}
          <label>
            <input type="radio" name="scope" checked={!whole} onChange={() => setWhole(false)} /> Chosen items
          </label>
          {!whole && (
            <ul class="choose-items" aria-label="Items to share">
              {props.items.map((item) => (
                <li key={item.id}>
                  <label>
                    <input
                      type="checkbox"
                      checked={chosen.has(item.id)}
                      onChange={(event) => {
                        const next = new Set(chosen);
                        if ((event.currentTarget as HTMLInputElement).checked) next.add(item.id);
                        else next.delete(item.id);
                        setChosen(next);
                      }}
                    />{" "}
                    {names.get(item.id) ?? `Item ${item.id.slice(0, 8)}`}
                  </label>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
        <label>
          Level
          <select name="level" defaultValue="view">
            {(Object.keys(LEVEL_LABELS) as ShareLevel[]).map((level) => (
              <option key={level} value={level}>
                {LEVEL_LABELS[level]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Ends on
          <input name="expires" type="date" required defaultValue={dateInput(now + SHARE_DEFAULT_DAYS * DAY_MS)} min={dateInput(now + DAY_MS)} max={dateInput(now + (SHARE_MAX_DAYS - 1) * DAY_MS)} />
        </label>
        <p class="hint">A recipient who can view a file holds it in their browser: a level says what they may do and what the app offers, not what they could copy (docs/disclosure.md).</p>
        {progress && <p role="status">{progress}</p>}
        {error && (
          <p role="alert" class="alert">
            {error}
          </p>
        )}
        <div class="actions">
          <button type="submit" class="primary" disabled={busy} aria-busy={busy || undefined}>
            {busy ? "Sharing…" : "Share"}
          </button>
          <button type="button" class="secondary" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      </form>
    </div>
  );
}
