/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { CompactSign, calculateJwkThumbprint, importJWK } from "jose";
import vector from "../../../shared/audit/test-vector.json";
import doc from "../../../docs/audit.md?raw";
import { CHECKPOINT_TYP, GENESIS_HASH, eventHashIsValid, type AuditEvent } from "../../../shared/audit/chain";
import { eventLeafHash, readAuditKey, readCheckpoint, verifyLogJws } from "../../../shared/audit/export";
import {
  RootBuilder,
  consistencyProof,
  inclusionProof,
  nodesOfLeaves,
  toHex,
  treeHashFromHex,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
} from "../../../shared/audit/merkle";

const events = vector.events as AuditEvent[];
const hash = (hex: string): Uint8Array => treeHashFromHex(hex)!;
const leaves = (): Promise<Uint8Array[]> => Promise.all(events.map((e) => eventLeafHash(e)));

async function auditKeys(): Promise<Map<string, CryptoKey | Uint8Array>> {
  const read = await readAuditKey(vector.auditPublicJwk);
  if (typeof read === "string") throw new Error(read);
  return new Map([[read.kid, read.key]]);
}

describe("published audit vector (shared/audit/test-vector.json)", () => {
  it("the events are a valid chain from the genesis hash, and their leaf hashes are the published ones", async () => {
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const [i, event] of events.entries()) {
      expect(await eventHashIsValid(event), `event ${event.seq}`).toBe(true);
      expect(event.prevHash).toBe(i === 0 ? GENESIS_HASH : events[i - 1]!.hash);
    }
    expect((await leaves()).map(toHex)).toEqual(vector.leafHashes);
  });

  it("merkle.ts rebuilds the roots of sizes 1 to 7, the inclusion proofs and the consistency proof, and they verify", async () => {
    const leafHashes = await leaves();
    const nodes = nodesOfLeaves(leafHashes);
    const roots = [];
    const builder = new RootBuilder();
    for (let n = 1; n <= 7; n++) {
      await builder.push(leafHashes[n - 1]!);
      const root = toHex(await treeRoot(nodes, n));
      expect(toHex(await builder.root())).toBe(root);
      roots.push({ treeSize: n, rootHash: root });
    }
    expect(roots).toEqual(vector.roots);
    const rootOf = (n: number) => hash(vector.roots[n - 1]!.rootHash);
    expect(vector.inclusion.map((p) => p.leafIndex)).toEqual([2, 6]);
    for (const p of vector.inclusion) {
      expect((await inclusionProof(nodes, p.leafIndex, p.treeSize)).map(toHex)).toEqual(p.proof);
      expect(p.seq).toBe(p.leafIndex + 1);
      expect(await verifyInclusion(p.leafIndex, p.treeSize, leafHashes[p.leafIndex]!, p.proof.map(hash), rootOf(p.treeSize))).toBe(true);
      // Another leaf's hash, or the right leaf at another index, does not verify.
      expect(await verifyInclusion(p.leafIndex, p.treeSize, leafHashes[p.leafIndex - 1]!, p.proof.map(hash), rootOf(p.treeSize))).toBe(false);
      expect(await verifyInclusion(p.leafIndex - 1, p.treeSize, leafHashes[p.leafIndex]!, p.proof.map(hash), rootOf(p.treeSize))).toBe(false);
    }
    const c = vector.consistency;
    expect([c.oldSize, c.newSize]).toEqual([3, 7]);
    expect((await consistencyProof(nodes, c.oldSize, c.newSize)).map(toHex)).toEqual(c.proof);
    expect(await verifyConsistency(3, 7, rootOf(3), rootOf(7), c.proof.map(hash))).toBe(true);
    expect(await verifyConsistency(3, 7, rootOf(4), rootOf(7), c.proof.map(hash))).toBe(false);
  });

  it("the published checkpoint verifies with the published key and signs the tree of 7 and the chain head", async () => {
    const verified = await verifyLogJws(vector.checkpoint.jws, CHECKPOINT_TYP, await auditKeys());
    if (typeof verified === "string") throw new Error(verified);
    expect(verified.kid).toBe(vector.auditPublicJwk.kid);
    expect(verified.payload).toEqual(vector.checkpoint.payload);
    expect(readCheckpoint(verified.payload)).toEqual({
      v: 2, orgId: vector.orgId, treeSize: 7, rootHash: vector.roots[6]!.rootHash, seq: 7, hash: events[6]!.hash, at: vector.checkpoint.payload.at,
    });
    // The payload is written in the member order of docs/audit.md §3.3.
    expect(Object.keys(vector.checkpoint.payload)).toEqual(["v", "orgId", "treeSize", "rootHash", "seq", "hash", "at"]);
    // A changed payload under the published signature does not verify.
    const [h, , s] = vector.checkpoint.jws.split(".");
    const forged = Buffer.from(JSON.stringify({ ...vector.checkpoint.payload, treeSize: 6, seq: 6 })).toString("base64url");
    expect(typeof (await verifyLogJws(`${h}.${forged}.${s}`, CHECKPOINT_TYP, await auditKeys()))).toBe("string");
  });

  it("the published private key is the public key's pair, and its kid is the RFC 7638 thumbprint", async () => {
    const { d, ...rest } = vector.auditPrivateJwk;
    expect(rest).toEqual(vector.auditPublicJwk);
    expect(await calculateJwkThumbprint({ kty: "EC", crv: "P-521", x: rest.x, y: rest.y }, "sha256")).toBe(rest.kid);
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(vector.checkpoint.payload)))
      .setProtectedHeader({ alg: "ES512", kid: rest.kid, typ: CHECKPOINT_TYP })
      .sign(await importJWK({ ...rest, d }, "ES512"));
    const verified = await verifyLogJws(jws, CHECKPOINT_TYP, await auditKeys());
    expect(typeof verified === "string" ? verified : verified.payload).toEqual(vector.checkpoint.payload);
  });

  it("docs/audit.md §8.1 quotes the same key, events, hashes, proofs and checkpoint", () => {
    const section = doc.slice(doc.indexOf("### 8.1 The published audit vector"), doc.indexOf("## 9."));
    const values = [
      vector.orgId, JSON.stringify(vector.auditPrivateJwk, null, 2),
      ...events.map((e) => JSON.stringify(e)), ...vector.leafHashes, ...vector.roots.map((r) => r.rootHash),
      ...vector.inclusion.map((p) => JSON.stringify(p.proof)), JSON.stringify(vector.consistency.proof),
      vector.checkpoint.jws, JSON.stringify(vector.checkpoint.payload),
    ];
    expect(section.length).toBeGreaterThan(0);
    for (const value of values) expect(section.includes(value), `§8.1 is missing ${value.slice(0, 40)}…`).toBe(true);
  });
});
