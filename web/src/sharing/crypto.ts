/**
 * Share key work in the browser (docs/disclosure.md §1, evidence-format.md §11). The sharer makes
 * a share key pair, wraps its private half to the guest's encryption key or to the key derived from
 * a new link secret, and wraps to its public half either the case keys (whole case) or, per chosen
 * item, the file key and the label. The recipient opens the share key, then the file keys. Files are
 * never re-encrypted; the link secret stays in the URL fragment and is never sent.
 */
import type { JWK } from "jose";
import type { CreateShareRequest, Guest, ReceivedShare, ShareLevel } from "../../../shared/api/shares";
import { decodeJwt } from "jose";
import {
  decryptLabel,
  deriveLinkKey,
  encryptLabel,
  generateShareKeyPair,
  newLinkSecret,
  receiptSigningKey,
  rewrapCaseKey,
  rewrapFileKey,
  signReceipt,
  unwrapCaseKey,
  unwrapFileKey,
  unwrapFileKeyBytes,
  unwrapShareKeyAsGuest,
  unwrapShareKeyWithLink,
  wrapShareKeyToGuest,
  wrapShareKeyToLink,
  type EvidenceLabel,
  type UnlockedKey,
} from "../../../shared/crypto/index";
import { ApiError } from "../api/client";
import { casesApi, evidenceApi } from "../cases/api";
import type { DeviceKeys } from "../keys/store";
import { myKeys } from "./my-keys";

export type ShareTarget = { type: "guest"; guest: Guest } | { type: "link"; label: string };

function newShareId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The link a recipient opens: the secret rides in the fragment, which the browser never sends. */
export function linkUrl(shareId: string, secret: string): string {
  return `${location.origin}/s/${shareId}#${secret}`;
}

/** The request that makes a share, and (for a link) the secret to put in its URL. */
export async function newShareBody(
  input: { caseId: string; target: ShareTarget; itemIds: string[] | null; includeLater: boolean; level: ShareLevel; expiresAt: string },
  me: DeviceKeys,
  onProgress: (done: number, total: number) => void = () => undefined,
): Promise<{ body: CreateShareRequest; secret: string | null }> {
  const id = newShareId();
  const pair = await generateShareKeyPair();
  let shareKeyWrap: string;
  let secret: string | null = null;
  if (input.target.type === "guest") {
    if (!input.target.guest.encryptionKey) throw new ApiError(409, "guest_without_keys", `${input.target.guest.name} has not set up their keys yet. Share once they have signed in.`);
    shareKeyWrap = await wrapShareKeyToGuest(pair.privateJwk, input.target.guest.encryptionKey.publicJwk as JWK);
  } else {
    secret = newLinkSecret();
    const linkKey = await deriveLinkKey(secret, id);
    shareKeyWrap = await wrapShareKeyToLink(pair.privateJwk, linkKey);
    linkKey.fill(0);
  }
  const { keys } = await casesApi.keys(input.caseId);
  const items: CreateShareRequest["items"] = [];
  const caseKeys: CreateShareRequest["caseKeys"] = [];
  if (input.itemIds) {
    const opened = new Map<string, UnlockedKey>();
    const caseKeyFor = async (kid: string) => {
      const known = opened.get(kid);
      if (known) return known;
      const wrap = keys.find((k) => k.kid === kid)?.wrap;
      if (!wrap) throw new ApiError(409, "no_key_for_you", "You don't hold the key of one of these items, so you can't share it.");
      const key = await unwrapCaseKey(wrap, me.encryption);
      opened.set(kid, key);
      return key;
    };
    for (const [n, evidenceId] of input.itemIds.entries()) {
      onProgress(n, input.itemIds.length);
      const item = await evidenceApi.get(evidenceId);
      const release = await evidenceApi.releaseKey(evidenceId);
      const caseKey = await caseKeyFor(item.caseKid);
      const label = await decryptLabel(item.label!, caseKey.privateKey);
      items.push({
        evidenceId,
        fileKey: await rewrapFileKey(release.fileKey, caseKey.privateKey, pair.publicJwk),
        label: await encryptLabel({ fileName: label.fileName, mediaType: label.mediaType, ...(label.capturedAt ? { capturedAt: label.capturedAt } : {}) }, pair.publicJwk),
      });
    }
  } else {
    for (const key of keys) {
      if (!key.wrap) throw new ApiError(409, "no_key_for_you", "You don't hold every key of this case, so you can't share all of it. Ask another lead.");
      caseKeys.push({ caseKid: key.kid, jwe: await rewrapCaseKey(key.wrap, me.encryption, pair.publicJwk) });
    }
  }
  onProgress(input.itemIds?.length ?? 1, input.itemIds?.length ?? 1);
  return {
    body: {
      id,
      recipient: input.target.type === "guest" ? { type: "guest", guestId: input.target.guest.id } : { type: "link", label: input.target.label },
      scope: input.itemIds ? "items" : "case",
      includeLater: input.itemIds ? false : input.includeLater,
      level: input.level,
      expiresAt: input.expiresAt,
      shareKey: pair.publicJwk as CreateShareRequest["shareKey"],
      shareKeyWrap,
      items,
      caseKeys,
    },
    secret,
  };
}

/** The case keys a whole-case share lacks (the case key was rotated since), wrapped to its share key with the lead's own wraps. */
export async function missingCaseKeyWraps(caseId: string, share: { shareKey: JWK; missingCaseKeys: string[] }, me: DeviceKeys): Promise<{ caseKid: string; jwe: string }[]> {
  const { keys } = await casesApi.keys(caseId);
  const out = [];
  for (const kid of share.missingCaseKeys) {
    const wrap = keys.find((k) => k.kid === kid)?.wrap;
    if (!wrap) throw new ApiError(409, "no_key_for_you", "You don't hold one of this case's keys. Ask another lead.");
    out.push({ caseKid: kid, jwe: await rewrapCaseKey(wrap, me.encryption, share.shareKey) });
  }
  return out;
}

/** The recipient's side: the share key, opened with the guest's encryption key or the link's secret. */
export async function openShareKey(share: ReceivedShare, opener: { guestKey: CryptoKey } | { secret: string }): Promise<UnlockedKey> {
  if ("guestKey" in opener) return unwrapShareKeyAsGuest(share.shareKeyWrap, opener.guestKey);
  return unwrapShareKeyWithLink(share.shareKeyWrap, await deriveLinkKey(opener.secret, share.id));
}

/** The private key an item's label and file key are wrapped to: the share key, or a case key the share carries. */
async function keyFor(share: ReceivedShare, shareKey: UnlockedKey, kid: string, cache: Map<string, UnlockedKey>): Promise<UnlockedKey> {
  if (kid === share.shareKid) return shareKey;
  const known = cache.get(kid);
  if (known) return known;
  const wrap = share.caseKeys.find((k) => k.caseKid === kid);
  if (!wrap) throw new ApiError(409, "not_opened", "This item was added under a case key this share does not hold yet. Ask the sender to renew the share.");
  const key = await unwrapCaseKey(wrap.jwe, shareKey.privateKey);
  cache.set(kid, key);
  return key;
}

/** Opens the shared items' labels (name, type, capture time); an item whose key is missing reads null. */
export async function shareLabels(share: ReceivedShare, shareKey: UnlockedKey): Promise<Map<string, EvidenceLabel | null>> {
  const cache = new Map<string, UnlockedKey>();
  const out = new Map<string, EvidenceLabel | null>();
  for (const item of share.items) {
    try {
      out.set(item.id, item.label ? await decryptLabel(item.label, (await keyFor(share, shareKey, item.keyKid, cache)).privateKey) : null);
    } catch {
      out.set(item.id, null);
    }
  }
  return out;
}

/** An item's file key from its released wrap (to the share key or a case key the share carries). */
export async function openFileKey(share: ReceivedShare, shareKey: UnlockedKey, released: { keyKid: string; fileKey: string }): Promise<CryptoKey> {
  const key = await keyFor(share, shareKey, released.keyKid, new Map());
  return unwrapFileKey(released.fileKey, key.privateKey);
}

/** An item's file key as its 32 raw bytes, for the court package (which carries it so metadata.json is proven); the caller zeroes it. */
export async function openFileKeyBytes(share: ReceivedShare, shareKey: UnlockedKey, released: { keyKid: string; fileKey: string }): Promise<Uint8Array<ArrayBuffer>> {
  const key = await keyFor(share, shareKey, released.keyKid, new Map());
  return (await unwrapFileKeyBytes(released.fileKey, key.privateKey)) as Uint8Array<ArrayBuffer>;
}

/**
 * The receipt (evidence-format.md §11): every item with its signed SHA-512, signed by the guest's own
 * key, or for a link by a key made for this receipt.
 */
export async function signShareReceipt(share: ReceivedShare, signer: { guest: DeviceKeys & { name: string } } | { linkName: string }): Promise<string> {
  const items = share.items.map((item) => ({ id: item.id, sha512: (decodeJwt(item.manifest) as { sha512: string }).sha512 }));
  const receivedAt = new Date().toISOString();
  if ("guest" in signer) {
    const publicJwk = await myKeys(signer.guest.signingKid);
    return signReceipt(
      { shareId: share.id, recipient: { type: "guest", userId: signer.guest.userId, name: signer.guest.name }, items, receivedAt },
      { kid: signer.guest.signingKid, privateKey: signer.guest.signing, publicJwk },
    );
  }
  return signReceipt({ shareId: share.id, recipient: { type: "link", name: signer.linkName }, items, receivedAt }, await receiptSigningKey());
}
