/**
 * Case key work done in the browser (docs/evidence-format.md §2, §3.2): a new case key pair
 * wrapped to its lead and the recovery key; every case key re-wrapped to a new member; and on
 * removal, a new case key wrapped to everyone who stays. The case private key exists in the
 * page's memory only for the moment it takes to wrap it.
 */
import type { JWK } from "jose";
import type { AddMemberRequest, AddOversightRequest, CaseDetail, CreateCaseRequest, RemoveMemberRequest, SupervisorList } from "../../../shared/api/cases";
import { generateCaseKeyPair, rewrapCaseKey, unwrapCaseKey, wrapCaseKey, type UnlockedKey } from "../../../shared/crypto/keys";
import { api, ApiError } from "../api/client";
import type { DeviceKeys } from "../keys/store";
import { casesApi } from "./api";

/**
 * The request body that opens a case: a fresh case key wrapped to me, to the organisation recovery
 * key and to every supervisor (the server lists them, and refuses a new case missing one).
 */
export async function newCaseBody(fields: { number: string; title: string; description: string; tags: string[] }, me: DeviceKeys): Promise<CreateCaseRequest> {
  const [pair, recovery, mine, { supervisors }] = await Promise.all([generateCaseKeyPair(), casesApi.recoveryKey(), myEncryptionPublicKey(me), casesApi.supervisors()]);
  const others = supervisors.filter((s) => s.encryption.kid !== me.encryptionKid);
  return {
    ...fields,
    caseKey: pair.publicJwk as CreateCaseRequest["caseKey"],
    wraps: [
      { recipientKid: me.encryptionKid, jwe: await wrapCaseKey(pair.privateJwk, mine) },
      { recipientKid: recovery.kid, jwe: await wrapCaseKey(pair.privateJwk, recovery.publicJwk as JWK) },
      ...(await Promise.all(others.map(async (s) => ({ recipientKid: s.encryption.kid, jwe: await wrapCaseKey(pair.privateJwk, s.encryption.publicJwk as JWK) })))),
    ],
  };
}

/** Supervisors who can neither open the case as members nor oversee it yet: "Give supervisors access" wraps its keys to them. */
export function supervisorsWithoutAccess(detail: CaseDetail, supervisors: SupervisorList["supervisors"]): SupervisorList["supervisors"] {
  return supervisors.filter((s) => !detail.members.some((m) => m.userId === s.userId) && !detail.overseers.some((o) => o.userId === s.userId));
}

/** Every key of the case re-wrapped on this device to each of `supervisors` (the server never sees a key). */
export async function oversightBody(caseId: string, supervisors: SupervisorList["supervisors"], me: DeviceKeys): Promise<AddOversightRequest> {
  const { keys } = await casesApi.keys(caseId);
  const wraps = [];
  for (const key of keys) {
    if (!key.wrap) throw new ApiError(409, "no_key_for_you", "You don't hold every key of this case, so you can't share it. Ask another lead to give supervisors access.");
    for (const s of supervisors) wraps.push({ caseKid: key.kid, recipientKid: s.encryption.kid, jwe: await rewrapCaseKey(key.wrap, me.encryption, s.encryption.publicJwk as JWK) });
  }
  return { wraps };
}

/** My encryption public JWK as the server has it registered (the device holds only the private half). */
async function myEncryptionPublicKey(me: DeviceKeys): Promise<JWK> {
  const mine = await api.myKeys();
  if (mine.encryption.kid !== me.encryptionKid) throw new ApiError(409, "keys_changed", "Your keys changed on another device. Reload the page and unlock them again.");
  return mine.encryption.publicJwk as JWK;
}

/** Every key of the case re-wrapped to the new member's encryption key (older evidence opens for them too). */
export async function addMemberBody(caseId: string, userId: string, role: AddMemberRequest["role"], me: DeviceKeys): Promise<AddMemberRequest> {
  const [{ keys }, theirs] = await Promise.all([casesApi.keys(caseId), casesApi.userKeys(userId)]);
  if (!theirs.encryption) throw new ApiError(409, "member_without_keys", "This person has no keys yet: ask them to sign in once and create their key passphrase, then add them.");
  const wraps = [];
  for (const key of keys) {
    if (!key.wrap) throw new ApiError(409, "no_key_for_you", "You don't hold every key of this case, so you can't share it. Ask another lead to add this member.");
    wraps.push({ caseKid: key.kid, recipientKid: theirs.encryption.kid, jwe: await rewrapCaseKey(key.wrap, me.encryption, theirs.encryption.publicJwk as JWK) });
  }
  return { userId, role, wraps };
}

/** A new case key wrapped to every member who stays, every overseeing supervisor and the recovery key: the removed member never gets it. */
export async function removeMemberBody(detail: CaseDetail, removedUserId: string): Promise<RemoveMemberRequest> {
  const remaining: { userId: string; name: string }[] = [...detail.members.filter((m) => m.userId !== removedUserId), ...detail.overseers];
  const [pair, recovery, ...keys] = await Promise.all([generateCaseKeyPair(), casesApi.recoveryKey(), ...remaining.map((m) => casesApi.userKeys(m.userId))]);
  const wraps = [{ recipientKid: recovery.kid, jwe: await wrapCaseKey(pair.privateJwk, recovery.publicJwk as JWK) }];
  for (const [i, key] of keys.entries()) {
    if (!key.encryption) throw new ApiError(409, "member_without_keys", `${remaining[i]!.name} has no keys yet, so the case key can't be shared with them.`);
    wraps.push({ recipientKid: key.encryption.kid, jwe: await wrapCaseKey(pair.privateJwk, key.encryption.publicJwk as JWK) });
  }
  return { caseKey: pair.publicJwk as RemoveMemberRequest["caseKey"], wraps };
}

/** Opens my wrap of a case key (compact JWE) with my device's encryption key. */
export function openCaseKey(wrap: string, me: DeviceKeys): Promise<UnlockedKey> {
  return unwrapCaseKey(wrap, me.encryption);
}
