/**
 * Streaming SHA-512 on hash-wasm's WebAssembly build, for the browser (where WebAssembly may
 * be compiled at run time; the Workers runtime forbids that, so the worker keeps the pure-TS
 * hasher). Same `Sha512` interface as shared/crypto/sha512.ts, so it drops into
 * `encryptBlob(blob, key, { createHasher })` and `decryptParts(..., { createHasher })`.
 *
 * Instantiating the wasm module is asynchronous, hence the async factory; once it has
 * resolved, `update` and `digestHex` are synchronous like the pure-TS hasher's.
 *
 *   const hasher = await createSha512Wasm();
 *   const enc = encryptBlob(file, fileKey, { createHasher: () => hasher });
 */
import { createSHA512 } from "hash-wasm";
import type { Sha512 } from "../../../shared/crypto/sha512";

/** A fresh incremental SHA-512 hasher on WebAssembly (input: raw bytes; output: lowercase hex). */
export async function createSha512Wasm(): Promise<Sha512> {
  const wasm = await createSHA512(); // compiles the module once per page, then one instance per hasher
  wasm.init();
  let done = false;
  return {
    update(bytes: Uint8Array): void {
      // Same contract as the pure-TS hasher: no reuse after digest (hash-wasm itself would allow init()).
      if (done) throw new Error("SHA-512: update after digest");
      wasm.update(bytes);
    },
    digestHex(): string {
      if (done) throw new Error("SHA-512: digest called twice");
      done = true;
      return wasm.digest("hex");
    },
  };
}


/**
 * A factory of SHA-512 hashers over one WebAssembly instance, for hashing files one after
 * another (a case package's originals): each call starts a fresh hash on the same instance, so
 * the previous one must be finished (digested) by then. Update after a newer start throws.
 */
export async function createSha512WasmFactory(): Promise<() => Sha512> {
  const wasm = await createSHA512();
  let generation = 0;
  return () => {
    const mine = ++generation;
    wasm.init();
    let done = false;
    const check = () => {
      if (done || mine !== generation) throw new Error("SHA-512: hasher used after digest or after a newer one started");
    };
    return {
      update(bytes: Uint8Array): void {
        check();
        wasm.update(bytes);
      },
      digestHex(): string {
        check();
        done = true;
        return wasm.digest("hex");
      },
    };
  };
}
