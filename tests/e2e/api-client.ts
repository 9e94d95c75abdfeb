/**
 * A person using the API of a running server (`npm start`) from Node, as their browser would:
 * session cookie, same-origin headers, and the browser's cryptography from shared/crypto. For
 * end-to-end tests where the browser is not what is under test (the site agent's).
 */
import type { CaseDetail, EvidenceList, FileKeyRelease, SupervisorList } from "../../shared/api/cases";
import type { Invitation, PublicKeyInfo, SessionInfo } from "../../shared/api/schemas";
import {
  decryptExpectations,
  decryptParts,
  escrowEncryptionKey,
  generateCaseKeyPair,
  generateRecoveryKeyPair,
  generateUserKeys,
  importPrivateKey,
  sealKeyBundle,
  unwrapCaseKey,
  unwrapFileKey,
  verifyManifest,
  wrapCaseKey,
  type Manifest,
  type UnlockedKey,
} from "../../shared/crypto";
import { enrolTotpByApi } from "./flows";

export class Person {
  signing?: UnlockedKey;
  encryption?: UnlockedKey;

  constructor(
    readonly base: string,
    public cookie: string,
    readonly id: string,
  ) {}

  async call(path: string, options: { method?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { Origin: this.base, Cookie: this.cookie };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(`${this.base}${path}`, { method: options.method ?? (options.body === undefined ? "GET" : "POST"), headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  }

  /** The answer's JSON; throws with the server's error when the status is not `expected`. */
  async json<T>(path: string, options: { method?: string; body?: unknown } = {}, expected = [200, 201]): Promise<T> {
    const response = await this.call(path, options);
    const text = await response.text();
    if (!expected.includes(response.status)) throw new Error(`${options.method ?? "GET"} ${path}: ${response.status} ${text}`);
    return (text ? JSON.parse(text) : null) as T;
  }
}

function cookieOf(response: Response): string {
  const match = /custody_session=[^;]+/.exec(response.headers.get("Set-Cookie") ?? "");
  if (!match) throw new Error(`no session cookie (${response.status})`);
  return match[0];
}

/** First-run setup over the API, TOTP enrolled: the administrator. */
export async function setUpByApi(base: string): Promise<Person> {
  const recovery = await generateRecoveryKeyPair();
  const response = await fetch(`${base}/api/setup`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: base },
    body: JSON.stringify({ organisation: { name: "Northshire Police" }, admin: { email: "ada@example.org", name: "Ada Admin", password: "correct horse battery staple" }, recoveryKey: recovery.publicJwk }),
  });
  if (response.status !== 201) throw new Error(`setup failed: ${response.status} ${await response.text()}`);
  const session = (await response.json()) as SessionInfo;
  return new Person(base, await enrolTotpByApi(base, cookieOf(response)), session.user.id);
}

/** Invites a user as `admin`, accepts the invitation and enrols TOTP. */
export async function addUserByApi(admin: Person, user: { email: string; name: string; role: "investigator" | "site_operator" | "admin" }): Promise<Person> {
  const invited = await admin.json<Invitation>("/api/users", { body: user });
  const accepted = await fetch(`${admin.base}/api/invitations/accept`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: admin.base },
    body: JSON.stringify({ token: invited.token, password: "a long enough passphrase" }),
  });
  if (accepted.status !== 200) throw new Error(`invitation failed: ${accepted.status}`);
  return new Person(admin.base, await enrolTotpByApi(admin.base, cookieOf(accepted)), invited.user.id);
}

/** Registers keys for `person` as their browser does, and keeps them unlocked. */
export async function withKeysByApi(person: Person): Promise<Person> {
  const keys = await generateUserKeys();
  const recovery = await person.json<PublicKeyInfo>("/api/keys/recovery");
  await person.json("/api/keys/me", {
    method: "PUT",
    body: {
      signing: keys.signing.publicJwk,
      encryption: keys.encryption.publicJwk,
      bundle: await sealKeyBundle({ signing: keys.signing.privateJwk, encryption: keys.encryption.privateJwk }, "a long key passphrase"),
      escrow: await escrowEncryptionKey(keys.encryption.privateJwk, recovery.publicJwk),
    },
  });
  person.signing = await importPrivateKey(keys.signing.privateJwk, "sign");
  person.encryption = await importPrivateKey(keys.encryption.privateJwk, "enc");
  return person;
}

/** Opens a case led by `lead` (keys registered), its key wrapped to every supervisor too, as the browser does. */
export async function openCaseByApi(lead: Person, number: string): Promise<CaseDetail> {
  const caseKey = await generateCaseKeyPair();
  const recovery = await lead.json<PublicKeyInfo>("/api/keys/recovery");
  const { supervisors } = await lead.json<SupervisorList>("/api/directory/supervisors");
  return lead.json<CaseDetail>("/api/cases", {
    body: {
      number,
      title: `Case ${number}`,
      tags: [],
      caseKey: caseKey.publicJwk,
      wraps: [
        { recipientKid: lead.encryption!.kid, jwe: await wrapCaseKey(caseKey.privateJwk, lead.encryption!.publicJwk) },
        { recipientKid: recovery.kid, jwe: await wrapCaseKey(caseKey.privateJwk, recovery.publicJwk) },
        ...(await Promise.all(
          supervisors.filter((s) => s.userId !== lead.id).map(async (s) => ({ recipientKid: s.encryption.kid, jwe: await wrapCaseKey(caseKey.privateJwk, s.encryption.publicJwk) })),
        )),
      ],
    },
  });
}

/** Opens evidence as a member's browser does: key release, signer check, parts, decryption with every check. */
export async function openEvidenceByApi(reader: Person, caseId: string, evidenceId: string): Promise<{ plaintext: Uint8Array; manifest: Manifest; signer: { owner: { type: string; id: string; name: string } }; fileKey: CryptoKey }> {
  const { evidence } = await reader.json<EvidenceList>(`/api/cases/${caseId}/evidence`);
  const item = evidence.find((e) => e.id === evidenceId);
  if (!item) throw new Error(`evidence ${evidenceId} is not in case ${caseId}`);
  const signer = await reader.json<{ publicJwk: Record<string, unknown>; owner: { type: string; id: string; name: string } }>(`/api/keys/signers/${item.signerKid}`);
  const manifest = await verifyManifest(item.manifest, signer.publicJwk);
  const release = await reader.json<FileKeyRelease>(`/api/evidence/${evidenceId}/key`);
  const caseKey = await unwrapCaseKey(release.caseKeyWrap, reader.encryption!.privateKey);
  const fileKey = await unwrapFileKey(release.fileKey, caseKey.privateKey);
  const parts: Uint8Array[] = [];
  for (let n = 0; n < item.partCount; n++) {
    const response = await reader.call(`/api/evidence/${evidenceId}/parts/${n}`);
    if (response.status !== 200) throw new Error(`part ${n}: ${response.status}`);
    parts.push(new Uint8Array(await response.arrayBuffer()));
  }
  const chunks: Uint8Array[] = [];
  for await (const chunk of decryptParts(parts, fileKey, decryptExpectations(manifest))) chunks.push(chunk);
  const plaintext = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    plaintext.set(chunk, offset);
    offset += chunk.length;
  }
  return { plaintext, manifest, signer, fileKey };
}

/** Polls `read` until `done` holds of its answer (or the time is up, with the last answer in the error). */
export async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await read();
    if (done(last)) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
