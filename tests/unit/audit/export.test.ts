import { calculateJwkThumbprint, exportJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { eventHash, type AuditEvent } from "../../../shared/audit/chain";
import { eventLeafHash, verifyExport, type KeptCheckpoint } from "../../../shared/audit/export";
import { MemoryLog, type LogKey } from "../../../shared/audit/memory-log";

export async function makeKey(): Promise<LogKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-521" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = await exportJWK(pair.publicKey);
  return { privateKey: pair.privateKey, publicJwk: { ...jwk, kid: await calculateJwkThumbprint(jwk, "sha256"), alg: "ES512", use: "sig" } };
}

const CASE = "c".repeat(32);
const input = (i: number, extra: Partial<AuditEvent> = {}) => ({
  id: i.toString(16).padStart(32, "0"),
  at: `2026-11-22T19:0${i}:00.000Z`,
  actor: { type: "user" as const, id: "a".repeat(32), label: "ada@example.org" },
  action: "case.update",
  target: { type: "case", id: i % 2 ? CASE : "d".repeat(32) },
  ip: "198.51.100.7",
  userAgent: "test",
  outcome: "success" as const,
  details: {},
  ...extra,
});

async function verify(lines: string[], kept?: KeptCheckpoint) {
  return verifyExport(lines, kept ? { kept } : {});
}

describe("audit export verification (docs/audit.md §6)", () => {
  let log: MemoryLog;
  let full: string[];
  let filtered: string[];
  let kept: KeptCheckpoint;

  beforeAll(async () => {
    log = new MemoryLog("o".repeat(32), await makeKey());
    for (let i = 1; i <= 2; i++) await log.append(input(i));
    kept = { jws: await log.checkpoint("2026-11-22T19:03:00.000Z"), signingKeys: [log.key.publicJwk] };
    for (let i = 3; i <= 4; i++) await log.append(input(i));
    await log.checkpoint("2026-11-22T19:05:00.000Z");
    full = await log.exportLines({}, "2026-11-22T19:06:00.000Z");
    filtered = await log.exportLines({ caseId: CASE }, "2026-11-22T19:06:00.000Z");
  });

  it("verifies a full and a case-filtered export, and a kept checkpoint they extend", async () => {
    expect(await verify(full)).toMatchObject({ ok: true, kind: "full", events: 4, checkpoints: 2, treeSize: 4, firstSeq: 1, lastSeq: 4 });
    expect(await verify(filtered)).toMatchObject({ ok: true, kind: "filtered", events: 2, firstSeq: 1, lastSeq: 3 });
    expect(await verify(full, kept)).toMatchObject({ ok: true, kept: { treeSize: 2 } });
    expect(await verify(filtered, { jws: kept.jws })).toMatchObject({ ok: true, kept: { treeSize: 2 } });
  });

  it("refuses every single-byte change anywhere in the export", { timeout: 120_000 }, async () => {
    for (const lines of [full, filtered]) {
      const text = lines.join("\n");
      for (let i = 0; i < text.length; i++) {
        const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 0x01) + text.slice(i + 1);
        const report = await verify(flipped.split("\n"));
        if (report.ok) throw new Error(`a flip at character ${i} (${JSON.stringify(text.slice(Math.max(0, i - 20), i + 20))}) passed`);
      }
    }
  });

  it("refuses every line deleted, doubled, swapped with the next, and every export cut short", async () => {
    for (const lines of [full, filtered]) {
      for (let i = 0; i < lines.length; i++) {
        expect((await verify(lines.filter((_, j) => j !== i))).ok, `line ${i + 1} deleted`).toBe(false);
        expect((await verify([...lines.slice(0, i + 1), lines[i]!, ...lines.slice(i + 1)])).ok, `line ${i + 1} doubled`).toBe(false);
        if (i + 1 < lines.length) {
          const swapped = [...lines];
          [swapped[i], swapped[i + 1]] = [swapped[i + 1]!, swapped[i]!];
          expect((await verify(swapped)).ok, `lines ${i + 1} and ${i + 2} swapped`).toBe(false);
        }
        expect((await verify(lines.slice(0, i + 1))).ok, `cut after line ${i + 1}`).toBe(lines.length === i + 1);
        expect((await verify([...lines.slice(0, i), lines[i]!.slice(0, -10)])).ok, `cut inside line ${i + 1}`).toBe(false);
      }
    }
    // The checkpoint lines, one at a time.
    for (const index of [full.length - 2, full.length - 1]) {
      expect((await verify(full.filter((_, j) => j !== index))).error?.message).toMatch(/checkpoint/);
    }
  });

  it("refuses an event line with a member twice, and a filtered export starting at another seq than signed", async () => {
    const doubled = [...full];
    doubled[2] = doubled[2]!.replace('"ip":"198.51.100.7"', '"ip":"203.0.113.9","ip":"198.51.100.7"');
    expect((await verify(doubled)).error).toMatchObject({ line: 3, message: expect.stringMatching(/"ip" appears twice/) });
    expect((await verify([filtered[0]!, ...filtered.slice(2)])).error?.message).toMatch(/first event is seq 3, the signed statement says 1/);
  });

  it("refuses a header edited, an event rewritten with its hashes recomputed, and an export re-signed with a foreign key", async () => {
    const header = JSON.parse(full[0]!) as Record<string, unknown>;
    expect((await verify([JSON.stringify({ ...header, note: "x" }), ...full.slice(1)])).ok).toBe(false);
    // A rewrite of event 2 with its hash and its proofs recomputed from the rewritten tree: the signed root differs.
    const rewritten = new MemoryLog(log.orgId, log.key);
    for (const [i, event] of log.events.entries()) {
      await rewritten.append({ ...input(i + 1), ...(i === 1 ? { outcome: "failed" as const } : {}), id: event.id, at: event.at });
    }
    const forgedLines = await (async () => {
      await rewritten.checkpoint("2026-11-22T19:05:00.000Z");
      return rewritten.exportLines({}, "2026-11-22T19:06:00.000Z");
    })();
    const spliced = [full[0]!, ...forgedLines.slice(1, 5), ...full.slice(5)];
    expect((await verify(spliced)).error?.message).toMatch(/inclusion proof/);
    // The same rewrite signed by the operator's new key, listed in the header: self-consistent,
    // but not by the kept checkpoint's key, and not consistent with the kept tree.
    const foreign = new MemoryLog(log.orgId, await makeKey());
    for (const [i, event] of log.events.entries()) {
      await foreign.append({ ...input(i + 1), ...(i === 1 ? { outcome: "failed" as const } : {}), id: event.id, at: event.at });
    }
    await foreign.checkpoint("2026-11-22T19:05:00.000Z");
    const resigned = await foreign.exportLines({}, "2026-11-22T19:06:00.000Z");
    expect((await verify(resigned)).ok).toBe(true);
    expect((await verify(resigned, kept)).error?.message).toMatch(/not among the audit signing keys/);
    expect((await verify(resigned, { jws: kept.jws })).ok).toBe(false);
    // Re-signing only the statement with a foreign key, keeping the real key listed: refused outright.
    const stmt = (JSON.parse(full[0]!) as { statement: string }).statement;
    const payload = JSON.parse(atob(stmt.split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/"))) as object;
    const swapped = [JSON.stringify({ ...header, statement: await foreign.sign(payload, "custody-audit-export+jws") }), ...full.slice(1)];
    expect((await verify(swapped)).error?.message).toMatch(/not among the audit signing keys/);
  });

  it("computes leaf hashes over the bytes the event hash covers", async () => {
    const event = log.events[0]!;
    const { hash, ...unhashed } = event;
    expect(await eventHash(unhashed)).toBe(hash);
    expect((await eventLeafHash(event)).length).toBe(32);
  });
});
