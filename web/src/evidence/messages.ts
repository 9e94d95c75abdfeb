/** Messages between the page and the evidence worker (open.worker.ts), and on the ports the service worker opens (view-sw.ts). */
import type { JWK } from "jose";
import type { DecryptExpectations, EvidenceMetadata } from "../../../shared/crypto/index";

export type OpenJob =
  /** Starts the item's session: every later job reads its parts through it. */
  /** `partUrl`: the worker downloads part n from `<partUrl><n>` itself; without it, it asks the page (`need`). */
  | { type: "session"; evidenceId: string; fileKey: CryptoKey; expect: DecryptExpectations; mediaType: string; partUrl?: string }
  /** Starts downloading part 0 from `<partUrl>0` while the page checks the signature and releases the key (read by the session of the same `partUrl`). */
  | { type: "early"; partUrl: string }
  /** Ciphertext part `n`, as the worker asked for it (`need`), or why it could not be had. */
  | { type: "part"; request: number; n: number; bytes: Uint8Array }

  | { type: "partError"; request: number; n: number; message: string }
  /** Checks the whole file in the background (every part, the size, the whole-file SHA-512) while it plays. */
  | { type: "verify" }
  /** Without a service worker: decrypts and verifies the whole file into OPFS `views/<id>` before it is shown. */
  | { type: "whole" }
  /** A request of the service worker for this view (a byte range, or the download stream): answered on `port`. */
  | { type: "port"; port: MessagePort }
  /** Writes the verified original to a file the user picked (File System Access). */
  | { type: "save"; handle: FileSystemFileHandle }
  | {
      type: "export";
      evidenceId: string;
      manifestJws: string;
      signerPublicJwk: JWK;
      signerRegister: string;
      metadata: EvidenceMetadata;
      /** This item's file key, raw (32 bytes): metadata.json is then proven by the package. */
      fileKey?: Uint8Array;
      /** The RFC 3161 token (DER) over the manifest signature, and the CA PEM it was checked against. */
      timestamp?: { token: Uint8Array; caPem: string | null };
    };

export type OpenEvent =
  /** The worker needs ciphertext part `n` (the page fetches it, or reads the kept copy). */
  | { type: "need"; request: number; n: number }
  /** The worker no longer needs that request's part (the player moved on): the page stops downloading it. */
  | { type: "drop"; request: number }
  /** The first checked bytes of this view went to a reader (the player): once per session. */
  | { type: "released" }
  /** Plaintext bytes checked in order so far by the background verification. */
  | { type: "progress"; verifiedBytes: number }
  | { type: "verified" }
  /** `view`: the item itself failed (playback stops, plaintext is dropped); `task`: only a save or an export did. */
  | { type: "failed"; scope: "view" | "task"; integrity: boolean; what: string; message: string }
  | { type: "whole" }
  | { type: "saved"; bytes: number }
  | { type: "exported"; bytes: number };

/** The service worker → evidence worker protocol on a view port. */
export type ViewPortRequest =
  | { type: "read"; start: number; end: number }
  | { type: "download" }
  | { type: "pull" }
  | { type: "cancel" };

export type ViewPortAnswer =
  | { type: "head"; size: number; mediaType: string }
  /** This page does not hold that view. */
  | { type: "unknown" }
  | { type: "chunk"; bytes: Uint8Array }
  | { type: "done" }
  | { type: "error"; message: string };

/** The message the service worker sends a page for a view request (with the port to answer on). */
export interface ViewRequestMessage {
  type: "custody-view";
  viewId: string;
}
