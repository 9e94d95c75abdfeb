/**
 * The verifiable audit log's outward forms (docs/audit.md §3, §4, §6): signed checkpoints of the
 * Merkle tree, the signed export statement, the lines of a JSON-lines export, the public
 * document, and the offline verifier of an export. Shared by the Durable Object, the worker, the
 * browser (court packages) and `npm run audit:verify`. WebCrypto and jose only.
 */
import { calculateJwkThumbprint, compactVerify, decodeProtectedHeader, importJWK, type JWK } from "jose";
import { canonicalJson, CHECKPOINT_TYP, eventHash, GENESIS_HASH, type AuditEvent } from "./chain";
import { leafHash, RootBuilder, toHex, treeHashFromHex, verifyConsistency, verifyInclusion } from "./merkle";
import { verifyTimestampToken } from "../timestamp/rfc3161";

/** `typ` of the signed statement at the head of an export. */
export const EXPORT_STATEMENT_TYP = "custody-audit-export+jws";
/** Version of the export format (and of checkpoints that sign a tree). */
export const EXPORT_VERSION = 2;

/** A signed statement of the log: version 2 signs the Merkle tree (size, root) and the chain head. */
export interface TreeCheckpoint {
  v: 2;
  orgId: string;
  /** Leaves in the tree = events in the log (the last event's `seq`). */
  treeSize: number;
  /** RFC 9162 root of the first `treeSize` events, SHA-256, lowercase hex. */
  rootHash: string;
  /** Same as `treeSize`: the chain head's position (kept so a version 1 reader still finds it). */
  seq: number;
  /** `hash` of event `seq`: the chain head. */
  hash: string;
  at: string;
}

/** Version 1 checkpoints (before the tree): the chain head only. Still verified. */
export interface ChainCheckpoint {
  v: 1;
  orgId: string;
  seq: number;
  hash: string;
  at: string;
}

export type Checkpoint = TreeCheckpoint | ChainCheckpoint;

/** Filter names of the audit export (the query parameters of `/api/audit/export`), in this order. */
export const FILTER_NAMES = ["actorId", "action", "targetType", "targetId", "caseId", "evidenceId", "outcome", "ip", "from", "to"] as const;
export type FilterName = (typeof FILTER_NAMES)[number];
export type AuditFilterValues = Partial<Record<FilterName, string>>;

/** What the signed statement at the head of an export says about it. */
export interface ExportStatement {
  v: 2;
  orgId: string;
  exportedAt: string;
  /** `full`: every event of the log up to `treeSize`. `filtered`: only the events matching `filter`. */
  kind: "full" | "filtered";
  filter: AuditFilterValues;
  /** The tree every inclusion proof in the export is against: the export's final checkpoint. */
  treeSize: number;
  rootHash: string;
  /** How many event lines follow, and the first and last `seq` among them (null when none). */
  events: number;
  firstSeq: number | null;
  lastSeq: number | null;
  /** How many checkpoint lines follow the events (the last is the final checkpoint). */
  checkpoints: number;
}

/** First line of a JSON-lines export. */
export interface ExportHeader {
  type: "custody-audit-export";
  v: 2;
  /** Public ES512 JWKs of the audit signing keys (`kid` = RFC 7638 thumbprint). */
  signingKeys: JWK[];
  /** Compact JWS (ES512, typ custody-audit-export+jws) over the ExportStatement. */
  statement: string;
}

/** The public document at `/.well-known/custody/audit.json`. */
export interface PublicAuditDocument {
  type: "custody-audit-public";
  v: 1;
  orgId: string;
  /** The latest checkpoint, compact JWS, and what it says (the JWS is what counts). */
  checkpoint: string;
  treeSize: number;
  rootHash: string;
  at: string;
  signingKeys: JWK[];
  /** RFC 3161 token over `checkpoint`'s signature (TimeStampToken DER, standard base64), once the TSA stamped it. */
  timestamp?: string;
}

// ---- canonical bytes and line builders ------------------------------------------------------

/** The leaf input of an event: the canonical JSON (UTF-8) of the event without `hash`, the very bytes its SHA-512 `hash` is of. */
export function eventLeafInput(event: AuditEvent): Uint8Array {
  const { hash: _hash, ...unhashed } = event;
  return new TextEncoder().encode(canonicalJson(unhashed));
}

/** RFC 9162 leaf hash of an event. */
export function eventLeafHash(event: AuditEvent): Promise<Uint8Array> {
  return leafHash(eventLeafInput(event));
}

/** An event line: the event, `type`, and its inclusion proof against the export's tree. */
export function eventLine(event: AuditEvent, inclusion: string[]): string {
  return JSON.stringify({ type: "event", ...event, inclusion });
}

/**
 * A checkpoint line. `consistency`: the proof from this checkpoint's tree to the export's final
 * one (absent on the final checkpoint and on version 1 checkpoints). `timestamp`: the RFC 3161
 * token over the JWS's signature (its third part, decoded), DER in standard base64, once stamped.
 */
export function checkpointLine(jws: string, consistency?: string[], timestamp?: string | null): string {
  return JSON.stringify({ type: "checkpoint", jws, ...(consistency ? { consistency } : {}), ...(timestamp ? { timestamp } : {}) });
}

/** Standard base64 (RFC 4648 §4, with padding) to bytes; null when it is not exactly that. */
function fromStandardBase64(text: string): Uint8Array | null {
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) || text.length === 0) return null;
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** The bytes a checkpoint's timestamp covers: the JWS Signature decoded from base64url (132 bytes, r ‖ s). */
export function checkpointSignatureBytes(jws: string): Uint8Array {
  const signature = jws.split(".")[2] ?? "";
  const padded = signature.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (signature.length % 4)) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/** Whether an event matches an export filter, as the server selects (docs/audit.md §4). */
export function eventMatches(event: AuditEvent, filter: AuditFilterValues): boolean {
  const details = event.details as { caseId?: unknown; evidenceId?: unknown };
  const caseId = typeof details.caseId === "string" ? details.caseId : event.target.type === "case" ? event.target.id : null;
  const evidenceId = typeof details.evidenceId === "string" ? details.evidenceId : event.target.type === "evidence" ? event.target.id : null;
  const value: Record<FilterName, (v: string) => boolean> = {
    actorId: (v) => event.actor.id === v,
    action: (v) => event.action === v,
    targetType: (v) => event.target.type === v,
    targetId: (v) => event.target.id === v,
    caseId: (v) => caseId === v,
    evidenceId: (v) => evidenceId === v,
    outcome: (v) => event.outcome === v,
    ip: (v) => event.ip === v,
    from: (v) => event.at >= v,
    to: (v) => event.at <= v,
  };
  return Object.entries(filter).every(([name, v]) => v === undefined || value[name as FilterName](v));
}

// ---- strict reading --------------------------------------------------------------------------

/** The first member name that appears twice in one object of a JSON text, or null. (JSON.parse keeps the last silently.) */
export function duplicateMember(text: string): string | null {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "{") stack.push(new Set());
    else if (ch === "[") stack.push(null);
    else if (ch === "}" || ch === "]") stack.pop();
    else if (ch === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      let next = end + 1;
      while (next < text.length && /\s/.test(text[next]!)) next++;
      const members = stack.at(-1);
      if (text[next] === ":" && members) {
        let name: string;
        try {
          name = JSON.parse(text.slice(i, end + 1)) as string;
        } catch {
          return null; // not JSON at all: JSON.parse says so
        }
        if (members.has(name)) return name;
        members.add(name);
      }
      i = end;
    }
  }
  return null;
}

const KEY_MEMBERS = ["alg", "crv", "kid", "kty", "use", "x", "y"];
const sameMembers = (value: object, names: string[]): boolean => {
  const keys = Object.keys(value).sort();
  return keys.length === names.length && keys.every((k, i) => k === [...names].sort()[i]);
};
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

/** Reads an audit signing key strictly: exactly the public EC P-521 members, ES512, `use` sig, `kid` its own thumbprint. */
export async function readAuditKey(jwk: unknown): Promise<{ kid: string; key: CryptoKey | Uint8Array } | string> {
  if (!isObject(jwk) || !sameMembers(jwk, KEY_MEMBERS)) return "a signing key is not a public ES512 JWK (kty, crv, x, y, kid, alg, use)";
  if (jwk.kty !== "EC" || jwk.crv !== "P-521" || jwk.alg !== "ES512" || jwk.use !== "sig" || typeof jwk.x !== "string" || typeof jwk.y !== "string") {
    return "a signing key is not an EC P-521 ES512 signing key";
  }
  const thumbprint = await calculateJwkThumbprint({ kty: "EC", crv: "P-521", x: jwk.x, y: jwk.y }, "sha256");
  if (jwk.kid !== thumbprint) return "a signing key's kid is not its RFC 7638 thumbprint";
  try {
    return { kid: thumbprint, key: await importJWK(jwk as JWK, "ES512") };
  } catch {
    return "a signing key is not a valid P-521 point";
  }
}

type Keys = Map<string, CryptoKey | Uint8Array>;

/** Verifies a compact JWS of the log (ES512, the given `typ`) with one of `keys`; its JSON payload, or an error text. */
export async function verifyLogJws(jws: unknown, typ: string, keys: Keys): Promise<{ payload: Record<string, unknown>; kid: string } | string> {
  if (typeof jws !== "string") return "not a JWS";
  let kid: unknown;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    return "not a JWS";
  }
  const key = typeof kid === "string" ? keys.get(kid) : undefined;
  if (!key) return "signed by a key that is not among the audit signing keys";
  try {
    const { payload, protectedHeader } = await compactVerify(jws, key, { algorithms: ["ES512"] });
    if (protectedHeader.typ !== typ || !sameMembers(protectedHeader, ["alg", "kid", "typ"])) return `not a ${typ}`;
    const parsed = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    if (!isObject(parsed)) return "the signed payload is not a JSON object";
    if (duplicateMember(new TextDecoder().decode(payload))) return "the signed payload repeats a member";
    return { payload: parsed, kid: kid as string };
  } catch {
    return "the signature does not verify";
  }
}

/** Reads a checkpoint payload strictly (version 1 or 2), or says what is wrong. */
export function readCheckpoint(payload: Record<string, unknown>): Checkpoint | string {
  const { v, orgId, seq, hash, at } = payload;
  if (typeof orgId !== "string" || !isCount(seq) || typeof hash !== "string" || !/^[0-9a-f]{128}$/.test(hash) || typeof at !== "string") return "malformed checkpoint";
  if (v === 1 && sameMembers(payload, ["at", "hash", "orgId", "seq", "v"])) return payload as unknown as ChainCheckpoint;
  if (v !== 2 || !sameMembers(payload, ["at", "hash", "orgId", "rootHash", "seq", "treeSize", "v"])) return "malformed checkpoint";
  if (payload.treeSize !== seq || !treeHashFromHex(payload.rootHash)) return "malformed checkpoint";
  return payload as unknown as TreeCheckpoint;
}

function readStatement(payload: Record<string, unknown>): ExportStatement | string {
  const names = ["checkpoints", "events", "exportedAt", "filter", "firstSeq", "kind", "lastSeq", "orgId", "rootHash", "treeSize", "v"];
  if (!sameMembers(payload, names) || payload.v !== 2) return "the export statement is malformed";
  const s = payload as unknown as ExportStatement;
  if (typeof s.orgId !== "string" || typeof s.exportedAt !== "string" || (s.kind !== "full" && s.kind !== "filtered")) return "the export statement is malformed";
  if (!isCount(s.treeSize) || s.treeSize === 0 || !treeHashFromHex(s.rootHash) || !isCount(s.events) || !isCount(s.checkpoints) || s.checkpoints === 0) return "the export statement is malformed";
  if (!isObject(s.filter) || !Object.entries(s.filter).every(([k, v]) => (FILTER_NAMES as readonly string[]).includes(k) && typeof v === "string")) return "the export statement names an unknown filter";
  const range = s.events === 0 ? s.firstSeq === null && s.lastSeq === null : isCount(s.firstSeq) && isCount(s.lastSeq) && s.firstSeq >= 1 && s.firstSeq <= s.lastSeq && s.lastSeq <= s.treeSize;
  if (!range) return "the export statement's range is malformed";
  if (s.kind === "full" && (Object.keys(s.filter).length > 0 || s.events !== s.treeSize || s.firstSeq !== 1 || s.lastSeq !== s.treeSize)) {
    return "a full export must hold every event from 1 to its tree size, with no filter";
  }
  if (s.kind === "filtered" && Object.keys(s.filter).length === 0) return "a filtered export must name its filter";
  return s;
}

// ---- verification ---------------------------------------------------------------------------

/** A checkpoint kept outside the system: a checkpoint JWS, or a copy of the public document (which also pins the keys). */
export interface KeptCheckpoint {
  jws: string;
  /** Keys to trust instead of the export's own (from the public document). */
  signingKeys?: JWK[];
}

/** Reads a kept checkpoint file's text: a bare compact JWS, or the public audit document (JSON). */
export function parseKeptCheckpoint(text: string): KeptCheckpoint | string {
  const trimmed = text.trim();
  if (/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(trimmed)) return { jws: trimmed };
  try {
    if (duplicateMember(trimmed)) return "the kept document repeats a member";
    const doc = JSON.parse(trimmed) as PublicAuditDocument;
    if (doc.type === "custody-audit-public" && typeof doc.checkpoint === "string" && Array.isArray(doc.signingKeys)) return { jws: doc.checkpoint, signingKeys: doc.signingKeys };
  } catch {
    // fall through
  }
  return "not a checkpoint JWS nor a copy of /.well-known/custody/audit.json";
}

export interface VerifyReport {
  ok: boolean;
  kind: "full" | "filtered" | null;
  filter: AuditFilterValues;
  events: number;
  checkpoints: number;
  firstSeq: number | null;
  lastSeq: number | null;
  treeSize: number | null;
  rootHash: string | null;
  /** Key ids that signed the statement and the checkpoints. */
  signers: string[];
  /** The kept checkpoint, when one was given and it checks out. */
  kept?: { treeSize: number; at: string };
  /** RFC 3161 timestamps of checkpoints that carry one, each verified over its checkpoint's signature. */
  timestamps: { treeSize: number; genTime: string; tsaName: string; chainVerified: boolean }[];
  /** The event lines, when asked for (`keepEvents`): for a caller that reads what it verified (court packages). */
  verifiedEvents?: AuditEvent[];
  /** The first problem found, naming the line (1-based) and the event's seq where there is one. */
  error?: { line: number; seq?: number; message: string };
}

export interface VerifyOptions {
  kept?: KeptCheckpoint;
  /** The CA certificate(s) (PEM) checkpoint timestamps must chain to; without, a token's own signature is checked. */
  tsaCaPem?: string;
  /** Collect the verified events in the report (for small exports only). */
  keepEvents?: boolean;
}

const EVENT_MEMBERS = ["action", "actor", "at", "details", "hash", "id", "inclusion", "ip", "outcome", "prevHash", "seq", "target", "type", "userAgent", "version"];

function readEvent(line: Record<string, unknown>): { event: AuditEvent; inclusion: Uint8Array[] } | string {
  const expected = "recordedOffline" in line ? [...EVENT_MEMBERS, "recordedOffline"] : EVENT_MEMBERS;
  if (!sameMembers(line, expected)) return `an event line must have exactly the members ${[...expected].sort().join(", ")}`;
  const { type: _type, inclusion, ...event } = line;
  if (event.version !== 1 || !Number.isSafeInteger(event.seq) || (event.seq as number) < 1) return "malformed event";
  if (!isObject(event.actor) || !isObject(event.target) || !isObject(event.details) || typeof event.at !== "string" || typeof event.hash !== "string" || typeof event.prevHash !== "string") return "malformed event";
  if (!Array.isArray(inclusion)) return "the inclusion proof is not a list of hashes";
  const proof = inclusion.map(treeHashFromHex);
  if (proof.some((p) => p === null)) return "the inclusion proof holds something other than 64 lowercase hex digits";
  return { event: event as unknown as AuditEvent, inclusion: proof as Uint8Array[] };
}

/**
 * Verifies a JSON-lines export given as its lines, following docs/audit.md §6 step by step, and
 * stops at the first problem, naming the line. `kept`: a checkpoint kept elsewhere, which the
 * export must extend (and whose keys, from a public document, replace the export's own).
 */
export async function verifyExport(lines: Iterable<string> | AsyncIterable<string>, options: VerifyOptions = {}): Promise<VerifyReport> {
  const report: VerifyReport = { ok: false, kind: null, filter: {}, events: 0, checkpoints: 0, firstSeq: null, lastSeq: null, treeSize: null, rootHash: null, signers: [], timestamps: [] };
  const fail = (line: number, message: string, seq?: number): VerifyReport => ({ ...report, ok: false, error: { line, message, ...(seq !== undefined ? { seq } : {}) } });
  const signer = (kid: string) => {
    if (!report.signers.includes(kid)) report.signers.push(kid);
  };

  // Step 6 first, as it decides the keys: a kept document pins them.
  const keys: Keys = new Map();
  let kept: TreeCheckpoint | null = null;
  let keptKid: string | null = null;
  if (options.kept?.signingKeys) {
    for (const jwk of options.kept.signingKeys) {
      const read = await readAuditKey(jwk);
      if (typeof read === "string") return fail(0, `kept document: ${read}`);
      keys.set(read.kid, read.key);
    }
  }

  let statement: ExportStatement | null = null;
  let root: Uint8Array | null = null;
  let previous: AuditEvent | null = null;
  const builder = new RootBuilder();
  let keptRootFromEvents: Uint8Array | null = null;
  const headsBySeq = new Map<number, string>();
  let checkpointsSeen = 0;
  let lastCheckpointSize = 0;
  let finalSeen = false;
  let lineNo = 0;

  for await (const raw of lines) {
    lineNo++;
    // Step 1: each line one JSON object, no member twice.
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return fail(lineNo, raw.trim() === "" ? "an empty line" : "not valid JSON");
    }
    if (!isObject(line)) return fail(lineNo, "not a JSON object");
    const repeated = duplicateMember(raw);
    if (repeated !== null) return fail(lineNo, `the member ${JSON.stringify(repeated)} appears twice`);

    // Step 2: the header and its signed statement.
    if (!statement) {
      if (line.type !== "custody-audit-export") return fail(lineNo, "the first line is not a Custody audit export header");
      if (line.v !== EXPORT_VERSION) return fail(lineNo, `an export of version ${JSON.stringify(line.v)}: this verifier reads version 2 (export again for a verifiable export)`);
      if (!sameMembers(line, ["signingKeys", "statement", "type", "v"]) || !Array.isArray(line.signingKeys)) return fail(lineNo, "the header must have exactly type, v, signingKeys and statement");
      const listed: Keys = new Map();
      for (const jwk of line.signingKeys) {
        const read = await readAuditKey(jwk);
        if (typeof read === "string") return fail(lineNo, read);
        listed.set(read.kid, read.key);
      }
      if (!options.kept?.signingKeys) for (const [kid, key] of listed) keys.set(kid, key);
      const signed = await verifyLogJws(line.statement, EXPORT_STATEMENT_TYP, keys);
      if (typeof signed === "string") return fail(lineNo, `the export statement: ${signed}`);
      const read = readStatement(signed.payload);
      if (typeof read === "string") return fail(lineNo, read);
      statement = read;
      signer(signed.kid);
      root = treeHashFromHex(read.rootHash)!;
      Object.assign(report, { kind: read.kind, filter: read.filter, treeSize: read.treeSize, rootHash: read.rootHash });
      if (options.kept) {
        const keptSigned = await verifyLogJws(options.kept.jws, CHECKPOINT_TYP, keys);
        if (typeof keptSigned === "string") return fail(0, `the kept checkpoint: ${keptSigned}`);
        const keptRead = readCheckpoint(keptSigned.payload);
        if (typeof keptRead === "string" || keptRead.v !== 2) return fail(0, "the kept checkpoint is not a tree checkpoint (version 2)");
        if (keptRead.orgId !== read.orgId) return fail(0, "the kept checkpoint is of another organisation");
        if (keptRead.treeSize > read.treeSize) return fail(0, `the kept checkpoint (tree size ${keptRead.treeSize}) is newer than this export (tree size ${read.treeSize}): export again`);
        kept = keptRead;
        keptKid = keptSigned.kid;
        if (signed.kid !== keptKid && !options.kept.signingKeys) return fail(lineNo, "the export statement is signed by another key than the kept checkpoint");
      }
      continue;
    }

    // Step 3: events.
    if (line.type === "event") {
      if (checkpointsSeen > 0) return fail(lineNo, "an event after the checkpoints");
      const read = readEvent(line);
      if (typeof read === "string") return fail(lineNo, read, typeof line.seq === "number" ? line.seq : undefined);
      const { event, inclusion } = read;
      const { hash, ...unhashed } = event;
      if ((await eventHash(unhashed)) !== hash) return fail(lineNo, "the event's hash does not match its content (edited?)", event.seq);
      if (previous === null) {
        if (event.seq !== statement.firstSeq) return fail(lineNo, `the first event is seq ${event.seq}, the signed statement says ${statement.firstSeq}`, event.seq);
      } else if (event.seq <= previous.seq) {
        return fail(lineNo, `out of order: seq ${event.seq} after ${previous.seq}`, event.seq);
      }
      if (event.seq > statement.treeSize) return fail(lineNo, `seq ${event.seq} is beyond the export's tree size ${statement.treeSize}`, event.seq);
      if (report.events >= statement.events) return fail(lineNo, `more events than the ${statement.events} the signed statement counts (inserted?)`, event.seq);
      if (statement.kind === "full") {
        if (event.seq !== (previous?.seq ?? 0) + 1) return fail(lineNo, `missing events: seq ${(previous?.seq ?? 0) + 1} to ${event.seq - 1}`, event.seq);
        if (event.prevHash !== (previous?.hash ?? GENESIS_HASH)) return fail(lineNo, "does not link to the event before it (inserted or reordered?)", event.seq);
      } else if (!eventMatches(event, statement.filter)) {
        return fail(lineNo, "the event does not match the export's signed filter (inserted?)", event.seq);
      }
      const leaf = await eventLeafHash(event);
      if (!(await verifyInclusion(event.seq - 1, statement.treeSize, leaf, inclusion, root!))) {
        return fail(lineNo, `the inclusion proof does not lead to the signed root of tree size ${statement.treeSize} (edited, or not in the log?)`, event.seq);
      }
      if (statement.kind === "full") {
        await builder.push(leaf);
        if (kept && builder.size === kept.treeSize) keptRootFromEvents = await builder.root();
      }
      headsBySeq.set(event.seq, event.hash);
      if (options.keepEvents) (report.verifiedEvents ??= []).push(event);
      report.events++;
      report.lastSeq = event.seq;
      report.firstSeq ??= event.seq;
      previous = event;
      continue;
    }

    // Step 4: checkpoints, the final one last.
    if (line.type === "checkpoint") {
      if (report.events !== statement.events) return fail(lineNo, `${statement.events - report.events} of the ${statement.events} events the signed statement counts are missing (deleted or cut?)`);
      if (finalSeen) return fail(lineNo, "a line after the final checkpoint");
      checkpointsSeen++;
      if (checkpointsSeen > statement.checkpoints) return fail(lineNo, `more checkpoints than the ${statement.checkpoints} the signed statement counts`);
      const hasConsistency = "consistency" in line;
      const members = [...(hasConsistency ? ["consistency"] : []), "jws", ...("timestamp" in line ? ["timestamp"] : []), "type"];
      if (!sameMembers(line, members)) return fail(lineNo, "a checkpoint line must have exactly type, jws, for an earlier checkpoint consistency, and optionally timestamp");
      const signed = await verifyLogJws(line.jws, CHECKPOINT_TYP, keys);
      if (typeof signed === "string") return fail(lineNo, `checkpoint: ${signed}`);
      let stamp: { genTime: string; tsaName: string; chainVerified: boolean } | null = null;
      if ("timestamp" in line) {
        // Step 5: the token is not under the log's signature; it proves itself, over this checkpoint's signature.
        const token = typeof line.timestamp === "string" ? fromStandardBase64(line.timestamp) : null;
        if (!token) return fail(lineNo, "the checkpoint's timestamp is not standard base64");
        try {
          stamp = await verifyTimestampToken(token, checkpointSignatureBytes(line.jws as string), { trustedPem: options.tsaCaPem ?? null });
        } catch (error) {
          return fail(lineNo, `the checkpoint's timestamp: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (keptKid && !options.kept?.signingKeys && signed.kid !== keptKid) return fail(lineNo, "checkpoint signed by another key than the kept checkpoint");
      const checkpoint = readCheckpoint(signed.payload);
      if (typeof checkpoint === "string") return fail(lineNo, checkpoint);
      if (checkpoint.orgId !== statement.orgId) return fail(lineNo, "the checkpoint is for another organisation");
      signer(signed.kid);
      if (checkpoint.seq <= lastCheckpointSize) return fail(lineNo, "checkpoints out of order or repeated");
      if (checkpoint.seq > statement.treeSize) return fail(lineNo, `a checkpoint of tree size ${checkpoint.seq}, beyond the export's ${statement.treeSize}`);
      lastCheckpointSize = checkpoint.seq;
      const head = headsBySeq.get(checkpoint.seq);
      if (head !== undefined && head !== checkpoint.hash) return fail(lineNo, `the signed checkpoint disagrees with event ${checkpoint.seq}: the chain was rewritten`, checkpoint.seq);
      if (checkpoint.v === 1) {
        if (hasConsistency) return fail(lineNo, "a version 1 checkpoint has no consistency proof");
      } else if (checkpoint.treeSize === statement.treeSize) {
        if (hasConsistency) return fail(lineNo, "the final checkpoint has no consistency proof");
        if (checkpoint.rootHash !== statement.rootHash) return fail(lineNo, "the final checkpoint's root is not the one the signed statement names");
        if (checkpointsSeen !== statement.checkpoints) return fail(lineNo, `the final checkpoint must be the last of ${statement.checkpoints} checkpoints (one removed?)`);
        finalSeen = true;
      } else {
        const proof = Array.isArray(line.consistency) ? line.consistency.map(treeHashFromHex) : [null];
        if (proof.some((p) => p === null)) return fail(lineNo, "the consistency proof holds something other than 64 lowercase hex digits");
        if (!(await verifyConsistency(checkpoint.treeSize, statement.treeSize, treeHashFromHex(checkpoint.rootHash)!, root!, proof as Uint8Array[]))) {
          return fail(lineNo, `the log at tree size ${statement.treeSize} does not extend this checkpoint of tree size ${checkpoint.treeSize}: rewritten`);
        }
      }
      if (kept && checkpoint.v === 2 && checkpoint.treeSize === kept.treeSize && checkpoint.rootHash !== kept.rootHash) {
        return fail(lineNo, `this export's checkpoint of tree size ${kept.treeSize} differs from the kept one: the log was rewritten`);
      }
      if (kept && checkpoint.v === 2 && checkpoint.treeSize === kept.treeSize) keptRootFromEvents ??= treeHashFromHex(checkpoint.rootHash);
      if (stamp) report.timestamps.push({ treeSize: checkpoint.seq, genTime: stamp.genTime, tsaName: stamp.tsaName, chainVerified: stamp.chainVerified });
      report.checkpoints++;
      continue;
    }
    return fail(lineNo, `unexpected line type ${JSON.stringify(line.type)}`);
  }

  if (!statement) return fail(lineNo, "empty export");
  if (report.events !== statement.events) return fail(lineNo, `${statement.events - report.events} of the ${statement.events} events the signed statement counts are missing (deleted or cut?)`);
  if (!finalSeen) return fail(lineNo, `the export does not end with its final checkpoint (tree size ${statement.treeSize}): cut short, or a checkpoint removed`);
  if (statement.kind === "full" && toHex(await builder.root()) !== statement.rootHash) return fail(lineNo, "the events do not make the signed root");
  // Step 6: the kept checkpoint is extended by this export.
  if (kept) {
    if (!keptRootFromEvents) return fail(lineNo, `the export holds no checkpoint of the kept tree size ${kept.treeSize} (nor, being filtered, every event to recompute it): the operator removed it, or export again with checkpoint=${kept.treeSize} (or a full export)`);
    if (toHex(keptRootFromEvents) !== kept.rootHash) return fail(lineNo, `the log at tree size ${kept.treeSize} is not the one the kept checkpoint signed: the log was rewritten`);
    report.kept = { treeSize: kept.treeSize, at: kept.at };
  }
  return { ...report, ok: true };
}
