/** What a sharer's and a recipient's browsers do (docs/disclosure.md), with the same shared/crypto code: for the share tests and the audit scenarios. */
import { expect } from "vitest";
import type { EvidenceSummary, FileKeyRelease, MyCaseKeys } from "../../shared/api/cases";
import type { SessionInfo } from "../../shared/api/schemas";
import type { GuestInvitation, GuestList, ReceivedShare, SharedFileKey } from "../../shared/api/shares";
import {
  decryptExpectations,
  decryptLabel,
  decryptParts,
  deriveLinkKey,
  encryptLabel,
  generateShareKeyPair,
  newLinkSecret,
  rewrapCaseKey,
  rewrapFileKey,
  signReceipt,
  unwrapCaseKey,
  unwrapFileKey,
  verifyManifest,
  wrapShareKeyToGuest,
  wrapShareKeyToLink,
  type UnlockedKey,
} from "../../shared/crypto";
import { decodeJwt } from "jose";
import { withKeys, type Person } from "./evidence-helpers";
import { call, withTotp } from "./helpers";

export const json = async <T>(response: Response, status = 200): Promise<T> => {
  expect(response.status, await response.clone().text()).toBe(status);
  return (await response.json()) as T;
};
export const newId = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

/** Every request body the tests send as a sharer or recipient, to search for secrets afterwards. */
export const sent: string[] = [];
export function send(path: string, options: Parameters<typeof call>[1] = {}) {
  if (options.body !== undefined) sent.push(typeof options.body === "string" ? options.body : JSON.stringify(options.body));
  return call(path, options);
}

/** A lead invites a guest; the guest accepts, sets a second factor and makes their keys, as in the browser. */
export async function inviteGuest(lead: Person, caseId: string, email: string, name: string): Promise<Person & { session: SessionInfo }> {
  const invited = await json<GuestInvitation>(await send(`/api/cases/${caseId}/guests`, { cookie: lead.cookie, body: { email, name } }), 201);
  expect(invited.sent).toBe(false);
  expect(invited.invitation).not.toBeNull();
  const accepted = await call("/api/invitations/accept", { body: { token: invited.invitation!.token, password: "a guest's long passphrase" } });
  expect(accepted.status).toBe(200);
  const full = await withTotp(accepted);
  expect(full.session.user.role).toBe("guest");
  return { ...(await withKeys(full)), session: full.session };
}

/** The lead's browser: the case private key for `kid`, unwrapped. */
export async function caseKeyOf(lead: Person, caseId: string, kid?: string): Promise<UnlockedKey> {
  const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseId}/keys`, { cookie: lead.cookie }));
  const key = keys.find((k) => (kid ? k.kid === kid : k.current))!;
  return unwrapCaseKey(key.wrap!, lead.encryption.privateKey);
}

export type Target = { type: "guest"; guestId: string } | { type: "link"; label: string };

/** The sharer's browser: a share key, wrapped to the recipient; the chosen items' keys and labels (or the case keys) wrapped to it. */
export async function share(lead: Person, caseId: string, target: Target, options: { items?: string[]; level?: string; includeLater?: boolean; expiresAt?: string } = {}) {
  const prepared = await prepareShare(lead, caseId, target, options);
  const response = await send(`/api/cases/${caseId}/shares`, { cookie: lead.cookie, body: prepared.body });
  return { response, ...prepared };
}

/** The share request as the sharer's browser builds it, not yet sent; with the link secret (links) and the share key pair. */
export async function prepareShare(lead: Person, caseId: string, target: Target, options: { items?: string[]; level?: string; includeLater?: boolean; expiresAt?: string } = {}) {
  const id = newId();
  const shareKey = await generateShareKeyPair();
  let shareKeyWrap: string;
  let secret: string | null = null;
  if (target.type === "guest") {
    const { guests } = await json<GuestList>(await call("/api/guests", { cookie: lead.cookie }));
    const guest = guests.find((g) => g.id === target.guestId)!;
    shareKeyWrap = await wrapShareKeyToGuest(shareKey.privateJwk, guest.encryptionKey!.publicJwk);
  } else {
    secret = newLinkSecret();
    shareKeyWrap = await wrapShareKeyToLink(shareKey.privateJwk, await deriveLinkKey(secret, id));
  }
  const items = [];
  const caseKeys = [];
  if (options.items) {
    for (const evidenceId of options.items) {
      const summary = await json<EvidenceSummary>(await call(`/api/evidence/${evidenceId}`, { cookie: lead.cookie }));
      const release = await json<FileKeyRelease>(await call(`/api/evidence/${evidenceId}/key`, { cookie: lead.cookie }));
      const caseKey = await caseKeyOf(lead, caseId, summary.caseKid);
      const label = await decryptLabel(summary.label!, caseKey.privateKey);
      items.push({
        evidenceId,
        fileKey: await rewrapFileKey(release.fileKey, caseKey.privateKey, shareKey.publicJwk),
        label: await encryptLabel({ fileName: label.fileName, mediaType: label.mediaType }, shareKey.publicJwk),
      });
    }
  } else {
    const { keys } = await json<MyCaseKeys>(await call(`/api/cases/${caseId}/keys`, { cookie: lead.cookie }));
    for (const key of keys) caseKeys.push({ caseKid: key.kid, jwe: await rewrapCaseKey(key.wrap!, lead.encryption.privateKey, shareKey.publicJwk) });
  }
  const body = {
    id,
    recipient: target,
    scope: options.items ? "items" : "case",
    includeLater: options.includeLater ?? false,
    level: options.level ?? "view",
    expiresAt: options.expiresAt ?? inDays(30),
    shareKey: shareKey.publicJwk,
    shareKeyWrap,
    items,
    caseKeys,
  };
  return { id, secret, shareKey, body };
}

export type Auth = { cookie?: string; headers?: Record<string, string> };

/** The recipient's browser: opens the share key, then an item's file key, then decrypts it. */
export async function openItem(auth: Auth, shareId: string, evidenceId: string, shareKey: UnlockedKey): Promise<Uint8Array> {
  const view = await json<ReceivedShare>(await call(`/api/shared/${shareId}`, auth));
  const item = view.items.find((i) => i.id === evidenceId)!;
  const manifest = await verifyManifest(item.manifest, item.signerJwk!);
  const key = await json<SharedFileKey>(await call(`/api/shared/${shareId}/items/${evidenceId}/key`, auth));
  let opener = shareKey;
  if (key.keyKid !== view.shareKid) opener = await unwrapCaseKey(view.caseKeys.find((k) => k.caseKid === key.keyKid)!.jwe, shareKey.privateKey);
  const fileKey = await unwrapFileKey(key.fileKey, opener.privateKey);
  const parts = [];
  for (let n = 0; n < item.partCount; n++) {
    const response = await call(`/api/shared/${shareId}/items/${evidenceId}/parts/${n}`, auth);
    expect(response.status).toBe(200);
    parts.push(new Uint8Array(await response.arrayBuffer()));
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of decryptParts(parts, fileKey, decryptExpectations(manifest))) chunks.push(chunk);
  return new Uint8Array(chunks.flatMap((c) => [...c]));
}

export async function receiptFor(view: ReceivedShare, signer: UnlockedKey, recipient: { type: "guest"; userId: string; name: string } | { type: "link"; name: string }) {
  return signReceipt(
    { shareId: view.id, recipient, items: view.items.map((i) => ({ id: i.id, sha512: (decodeJwt(i.manifest) as { sha512: string }).sha512 })), receivedAt: new Date().toISOString() },
    signer,
  );
}

