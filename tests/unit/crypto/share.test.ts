/** Disclosure envelopes (docs/evidence-format.md §11): the link key, the share key wrap and the receipt, against the published vector. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  deriveLinkKey,
  FormatError,
  generateShareKeyPair,
  IntegrityError,
  KeyUnwrapError,
  newLinkSecret,
  receiptSigningKey,
  signReceipt,
  toBase64url,
  toHex,
  unwrapShareKeyWithLink,
  utf8,
  verifyReceipt,
  wrapShareKeyToLink,
} from "../../../shared/crypto";
import vector from "../../../shared/crypto/receipt-vector.json";

const root = resolve(import.meta.dirname, "../../..");
const node = resolve(root, "node_modules/.bin/node");
const dir = mkdtempSync(join(tmpdir(), "custody-receipt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Replace the payload of a compact JWS, keeping header and signature. */
function withPayload(jws: string, payload: unknown): string {
  const [header, , signature] = jws.split(".");
  return `${header}.${toBase64url(utf8(JSON.stringify(payload)))}.${signature}`;
}

describe("link key and share key wrap", () => {
  it("derives the published link key (HKDF-SHA-512) and opens the published wrap with it", async () => {
    const linkKey = await deriveLinkKey(vector.linkSecret, vector.shareId);
    expect(toHex(linkKey)).toBe(vector.linkKeyHex);
    const shareKey = await unwrapShareKeyWithLink(vector.shareKeyWrap, linkKey);
    expect(shareKey.publicJwk.x).toBe(vector.sharePrivateJwk.x);
  });

  it("opens nothing with another share's id, another secret, or a changed byte", async () => {
    await expect(unwrapShareKeyWithLink(vector.shareKeyWrap, await deriveLinkKey(vector.linkSecret, "f".repeat(32)))).rejects.toBeInstanceOf(KeyUnwrapError);
    await expect(unwrapShareKeyWithLink(vector.shareKeyWrap, await deriveLinkKey(newLinkSecret(), vector.shareId))).rejects.toBeInstanceOf(KeyUnwrapError);
    const parts = vector.shareKeyWrap.split(".");
    parts[3] = parts[3]!.startsWith("A") ? `B${parts[3]!.slice(1)}` : `A${parts[3]!.slice(1)}`;
    await expect(unwrapShareKeyWithLink(parts.join("."), await deriveLinkKey(vector.linkSecret, vector.shareId))).rejects.toBeInstanceOf(KeyUnwrapError);
    await expect(deriveLinkKey("short", vector.shareId)).rejects.toBeInstanceOf(FormatError);
  });

  it("round-trips a fresh share key through a fresh link", async () => {
    const share = await generateShareKeyPair();
    const secret = newLinkSecret();
    const key = await deriveLinkKey(secret, vector.shareId);
    const wrap = await wrapShareKeyToLink(share.privateJwk, key);
    expect(wrap).not.toContain(share.privateJwk.d!);
    expect((await unwrapShareKeyWithLink(wrap, key)).kid).toBe(share.kid);
  });
});

describe("receipt (custody-receipt+jws)", () => {
  it("verifies the published receipt by the key it names", async () => {
    const { receipt, kid, jwk } = await verifyReceipt(vector.receiptJws);
    expect(receipt).toEqual(vector.receipt);
    expect(kid).toBe(vector.receiptKid);
    expect(jwk.x).toBe(vector.receiptSignerPublicJwk.x);
  });

  it("refuses a changed payload, another typ, a kid that is not the key's, and an unknown version", async () => {
    await expect(verifyReceipt(withPayload(vector.receiptJws, { ...vector.receipt, items: [] }))).rejects.toBeInstanceOf(IntegrityError);
    const signer = await receiptSigningKey();
    const good = await signReceipt({ shareId: "s", recipient: { type: "link", name: "N" }, items: [{ id: "i", sha512: "a".repeat(128) }], receivedAt: new Date().toISOString() }, signer);
    expect((await verifyReceipt(good)).kid).toBe(signer.kid);
    const other = await receiptSigningKey();
    await expect(verifyReceipt(await signReceipt({ shareId: "s", recipient: { type: "link", name: "N" }, items: [{ id: "i", sha512: "a".repeat(128) }], receivedAt: new Date().toISOString() }, { ...other, kid: signer.kid }))).rejects.toBeInstanceOf(IntegrityError);
    await expect(verifyReceipt(vector.shareKeyWrap)).rejects.toBeInstanceOf(FormatError);
    await expect(signReceipt({ shareId: "s", recipient: { type: "link", name: "N" }, items: [], receivedAt: new Date().toISOString() }, signer)).rejects.toThrow();
  });

  it("npm run verify -- receipt.jws: passes the published receipt, fails a changed one", () => {
    const good = join(dir, "receipt.jws");
    writeFileSync(good, vector.receiptJws);
    const ok = spawnSync(node, [join(root, "scripts/verify.ts"), good], { cwd: root, encoding: "utf8" });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("✓ receipt signature");
    expect(ok.stdout).toContain("Dana Defence");
    expect(ok.stdout).toContain(vector.receipt.items[0]!.sha512);
    const bad = join(dir, "forged.jws");
    writeFileSync(bad, withPayload(vector.receiptJws, { ...vector.receipt, recipient: { type: "link", name: "Someone Else" } }));
    const failed = spawnSync(node, [join(root, "scripts/verify.ts"), bad], { cwd: root, encoding: "utf8" });
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain("✗ receipt signature");
  });
});
