/**
 * Building a case package on the page's side: gathers each item's pieces (manifest, signer key
 * and register, timestamp, audit extract, file key) through a `CasePackageSource`, then streams
 * the items' ciphertext parts into the case package worker, which decrypts, verifies and writes
 * the ZIP. Network stays on the page; work on file bytes runs in the worker. A member's browser
 * uses `memberSource`; a share recipient's portal supplies its own source (its way of getting
 * each item's file key and parts), so both build the same package.
 */
import type { JWK } from "jose";
import { decryptExpectations, verifyFiling, verifyManifest } from "../../../shared/crypto/index";
import type { DetailsVersionInput } from "../../../shared/disclosure/details-history";
import type { PackageEvent, PackageJob, PackageOutput } from "./messages";

/** One item to package: its id, signed manifest (compact JWS) and signer's key id. */
export interface PackageItemRef {
  id: string;
  manifest: string;
  signerKid: string;
  /** A capture filed into this case: its filing record (evidence-format.md §6.2), which moves it from the uploader's holding place. */
  filing?: string;
}

/** Where the builder gets each piece; every function may throw (the build stops and says so). */
export interface CasePackageSource {
  /** The item's file key, 32 raw bytes (unwrapped here, in the browser). */
  fileKey(item: PackageItemRef): Promise<Uint8Array>;
  /** The signer's registered public key. */
  signerKey(kid: string): Promise<JWK>;
  /** The signer's key-register export (`GET /api/audit/signers/<kid>`), JSON lines. */
  signerRegister(kid: string): Promise<string>;
  /** The item's audit extract (`GET /api/audit/evidence/<id>`), JSON lines. */
  auditExtract(item: PackageItemRef): Promise<string>;
  /** The RFC 3161 token over the manifest signature and its CA PEM, once stamped. */
  timestamp(item: PackageItemRef): Promise<{ token: Uint8Array; caPem: string | null } | undefined>;
  /** Ciphertext part `n` of the item. */
  readPart(item: PackageItemRef, n: number): Promise<Uint8Array>;
  /** Every version of the item's edited details, with who made each (none: the package has no details.json for it). */
  detailsVersions?(item: PackageItemRef): Promise<DetailsVersionInput[]>;
}

export type BuildStep =
  | { step: "prepare"; item: number; items: number }
  | { step: "write"; bytes: number; totalBytes: number };

export class PackageError extends Error {
  constructor(
    readonly integrity: boolean,
    readonly what: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parts the page fetches ahead of the worker's decryption. */
const AHEAD = 2;

/**
 * Builds the package of `items` (in this order) into `output`. Resolves with its size; rejects
 * with PackageError (or the source's error), or an AbortError when `signal` aborts: the worker
 * is stopped and the output discarded.
 */
export async function buildCasePackage(options: {
  case: { id: string; number: string; title: string };
  exportedBy: string;
  items: PackageItemRef[];
  source: CasePackageSource;
  output: PackageOutput;
  onStep: (step: BuildStep) => void;
  signal: AbortSignal;
}): Promise<number> {
  const { source, signal } = options;
  const aborted = () => signal.throwIfAborted();
  const prepared: Extract<PackageJob, { type: "start" }>["items"] = [];
  const signers = new Map<string, Promise<{ jwk: JWK; register: string }>>();
  const signer = (kid: string) => {
    let found = signers.get(kid);
    if (!found) signers.set(kid, (found = Promise.all([source.signerKey(kid), source.signerRegister(kid)]).then(([jwk, register]) => ({ jwk, register }))));
    return found;
  };
  for (const [i, item] of options.items.entries()) {
    aborted();
    options.onStep({ step: "prepare", item: i + 1, items: options.items.length });
    const { jwk, register } = await signer(item.signerKid);
    const manifest = await verifyManifest(item.manifest, jwk).catch((error: unknown) => {
      throw new PackageError(true, "manifest", `The signed manifest of item ${i + 1} does not verify: ${error instanceof Error ? error.message : String(error)}`);
    });
    if (manifest.evidenceId !== item.id) throw new PackageError(true, "manifest", `The signed manifest of item ${i + 1} names another item.`);
    // An item signed before it had this case (a submission link's, a filed capture's) goes in only
    // if its audit extract records the move (planCasePackage checks); a filed capture's own signed
    // filing record is checked here too when the source gives it.
    if (item.filing && manifest.scope === "captures" && manifest.caseId !== options.case.id) {
      await verifyFiling(item.filing, jwk, { evidenceId: item.id, manifestJws: item.manifest, fromCaseId: manifest.caseId, caseId: options.case.id }).catch((error: unknown) => {
        throw new PackageError(true, "manifest", `The filing record of item ${i + 1} does not verify: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
    const [fileKey, auditExtract, timestamp, detailsVersions] = await Promise.all([
      source.fileKey(item),
      source.auditExtract(item),
      source.timestamp(item),
      source.detailsVersions ? source.detailsVersions(item) : Promise.resolve([]),
    ]);
    prepared.push({
      manifestJws: item.manifest,
      signerPublicJwk: jwk,
      signerRegister: register,
      fileKey,
      auditExtract,
      expect: decryptExpectations(manifest),
      ...(timestamp ? { timestamp } : {}),
      ...(detailsVersions.length ? { detailsVersions } : {}),
    });
  }
  aborted();

  const worker = new Worker(new URL("./casepkg.worker.ts", import.meta.url), { type: "module", name: "case-package" });
  try {
    let totalBytes = 0;
    let acked = 0;
    let sent = 0;
    let wake: (() => void) | undefined;
    let failure: unknown;
    const needs: number[] = [];
    const outcome = new Promise<number>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<PackageEvent>) => {
        const e = event.data;
        if (e.type === "planned") totalBytes = e.contentBytes;
        else if (e.type === "need") needs.push(e.index);
        else if (e.type === "ack") acked++;
        else if (e.type === "progress") options.onStep({ step: "write", bytes: e.bytes, totalBytes });
        else if (e.type === "done") resolve(e.bytes);
        else if (e.type === "failed") reject((failure = new PackageError(e.integrity, e.what, e.message)));
        wake?.();
      };
      signal.addEventListener("abort", () => reject((failure = signal.reason)), { once: true });
    });
    outcome.catch(() => undefined);
    const wait = () => new Promise<void>((resolve) => (wake = resolve));
    worker.postMessage({ type: "start", case: options.case, exportedAt: new Date().toISOString(), exportedBy: options.exportedBy, items: prepared, output: options.output } satisfies PackageJob);

    // Feed each item's parts when the worker reaches it, a bounded few ahead: memory holds a few parts whatever the case's size.
    for (let handled = 0; handled < options.items.length && failure === undefined; ) {
      if (needs.length === 0) {
        await Promise.race([wait(), outcome.then(() => undefined, () => undefined)]);
        continue;
      }
      const index = needs.shift()!;
      const item = options.items[index]!;
      const parts = prepared[index]!.expect.partSha512.length;
      for (let n = 0; n < parts && failure === undefined; n++) {
        while (sent - acked >= AHEAD && failure === undefined) await Promise.race([wait(), outcome.then(() => undefined, () => undefined)]);
        if (failure !== undefined) break;
        const bytes = await source.readPart(item, n);
        worker.postMessage({ type: "part", bytes } satisfies PackageJob, [bytes.buffer]);
        sent++;
      }
      worker.postMessage({ type: "end-item" } satisfies PackageJob);
      handled++;
    }
    return await outcome;
  } finally {
    worker.terminate();
  }
}
