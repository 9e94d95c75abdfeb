/** Messages between the page and the case package worker (casepkg.worker.ts). */
import type { DecryptExpectations } from "../../../shared/crypto/index";
import type { CasePackageItem } from "../../../shared/disclosure/case-package";

/** Where the package goes: a file the person picked (File System Access), or this device's private storage to download from. */
export type PackageOutput = { kind: "file"; handle: FileSystemFileHandle } | { kind: "opfs"; name: string };

export type PackageJob =
  | {
      type: "start";
      case: { id: string; number: string; title: string };
      exportedAt: string;
      exportedBy: string;
      /** Each item with its raw file key; `expect` says what its ciphertext must decrypt to. */
      items: (CasePackageItem & { expect: DecryptExpectations })[];
      output: PackageOutput;
    }
  | { type: "part"; bytes: Uint8Array }
  | { type: "end-item" };

export type PackageEvent =
  | { type: "planned"; contentBytes: number }
  /** The worker is at item `index`'s original: send its parts. */
  | { type: "need"; index: number }
  | { type: "ack" }
  | { type: "progress"; bytes: number }
  | { type: "done"; bytes: number }
  | { type: "failed"; integrity: boolean; what: string; message: string };
