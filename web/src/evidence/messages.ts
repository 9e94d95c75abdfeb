/** Messages between the page and the evidence worker (open.worker.ts). */
import type { JWK } from "jose";
import type { DecryptExpectations, EvidenceMetadata } from "../../../shared/crypto/index";

export type OpenJob =
  | { type: "decrypt"; evidenceId: string; fileKey: CryptoKey; expect: DecryptExpectations }
  | { type: "part"; bytes: Uint8Array }
  | { type: "end" }
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
  | { type: "ack" }
  | { type: "progress"; plainBytes: number }
  | { type: "verified" }
  | { type: "failed"; integrity: boolean; what: string; message: string }
  | { type: "exported"; bytes: number };
