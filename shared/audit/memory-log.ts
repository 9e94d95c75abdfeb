/**
 * An audit log held in memory that writes the same forms as the `AuditLog` Durable Object:
 * chained events, the Merkle tree, signed checkpoints, JSON-lines exports. For tests and the
 * published test vector (docs/audit.md §8); the server itself uses the Durable Object.
 */
import { calculateJwkThumbprint, CompactSign, exportJWK, type JWK } from "jose";
import { chainEvent, CHECKPOINT_TYP, GENESIS_HASH, type AuditEvent, type AuditEventInput } from "./chain";
import {
  checkpointLine,
  eventLeafHash,
  eventLine,
  eventMatches,
  EXPORT_STATEMENT_TYP,
  FILTER_NAMES,
  type AuditFilterValues,
  type ExportHeader,
  type ExportStatement,
  type TreeCheckpoint,
} from "./export";
import { consistencyProof, inclusionProof, nodesOfLeaves, toHex, treeRoot } from "./merkle";

/** An audit signing key: the private key and its public JWK (with kid, alg, use). */
export interface LogKey {
  privateKey: CryptoKey;
  publicJwk: JWK;
}

/** A fresh audit signing key (test use: extractable). */
export async function generateLogKey(): Promise<LogKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = await exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk: { ...jwk, kid: await calculateJwkThumbprint(jwk, "sha256"), alg: "ES512", use: "sig" } };
}

export class MemoryLog {
  readonly events: AuditEvent[] = [];
  readonly leaves: Uint8Array[] = [];
  readonly checkpoints: { treeSize: number; jws: string }[] = [];

  constructor(
    readonly orgId: string,
    readonly key: LogKey,
  ) {}

  /** Appends an event (id and time given, so a vector is reproducible). */
  async append(input: AuditEventInput & { id: string; at: string }): Promise<AuditEvent> {
    const head = this.events.at(-1);
    const event = await chainEvent(input, { seq: (head?.seq ?? 0) + 1, prevHash: head?.hash ?? GENESIS_HASH });
    this.events.push(event);
    this.leaves.push(await eventLeafHash(event));
    return event;
  }

  async sign(payload: object, typ: string, key: LogKey = this.key): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: "ES512", kid: key.publicJwk.kid!, typ }).sign(key.privateKey);
  }

  async root(size = this.events.length): Promise<string> {
    return toHex(await treeRoot(nodesOfLeaves(this.leaves), size));
  }

  /** Signs a checkpoint of the log as it stands. */
  async checkpoint(at: string): Promise<string> {
    const size = this.events.length;
    const payload: TreeCheckpoint = { v: 2, orgId: this.orgId, treeSize: size, rootHash: await this.root(size), seq: size, hash: this.events[size - 1]!.hash, at };
    const jws = await this.sign(payload, CHECKPOINT_TYP);
    this.checkpoints.push({ treeSize: size, jws });
    return jws;
  }

  /** An export as the server writes it (the final checkpoint must already be signed at the current size). */
  async exportLines(filter: AuditFilterValues, exportedAt: string): Promise<string[]> {
    const treeSize = this.events.length;
    const nodes = nodesOfLeaves(this.leaves);
    const selected = this.events.filter((e) => eventMatches(e, filter));
    const checkpoints = this.checkpoints.filter((c) => c.treeSize <= treeSize);
    if (checkpoints.at(-1)?.treeSize !== treeSize) throw new Error("sign a checkpoint of the current size first");
    const clean = Object.fromEntries(FILTER_NAMES.filter((n) => filter[n] !== undefined).map((n) => [n, filter[n]!]));
    const statement: ExportStatement = {
      v: 2, orgId: this.orgId, exportedAt, kind: Object.keys(clean).length === 0 ? "full" : "filtered", filter: clean,
      treeSize, rootHash: await this.root(treeSize), events: selected.length, firstSeq: selected[0]?.seq ?? null, lastSeq: selected.at(-1)?.seq ?? null,
      checkpoints: checkpoints.length,
    };
    const header: ExportHeader = { type: "custody-audit-export", v: 2, signingKeys: [this.key.publicJwk], statement: await this.sign(statement, EXPORT_STATEMENT_TYP) };
    const lines = [JSON.stringify(header)];
    for (const event of selected) lines.push(eventLine(event, (await inclusionProof(nodes, event.seq - 1, treeSize)).map(toHex)));
    for (const c of checkpoints) lines.push(checkpointLine(c.jws, c.treeSize < treeSize ? (await consistencyProof(nodes, c.treeSize, treeSize)).map(toHex) : undefined));
    return lines;
  }
}
