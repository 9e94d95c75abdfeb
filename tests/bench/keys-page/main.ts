/**
 * The key bundle bench page (tests/bench/keys.ts drives it): each measure returns milliseconds.
 * Everything runs as the app runs it: PBKDF2 inside WebCrypto, Argon2id on hash-wasm both in the
 * page's thread and in the app's own Web Worker (web/src/keys/kdf.ts), and the whole open of a
 * version 1 and a version 2 bundle.
 */
import {
  ARGON2ID_FLOOR,
  ARGON2ID_PARAMS,
  argon2idInThread,
  generateUserKeys,
  openKeyBundleJwks,
  sealKeyBundle,
  sealLegacyKeyBundle,
  type Argon2Params,
} from "../../../shared/crypto/keys";
import { derive } from "../../../web/src/keys/kdf";

const PASSPHRASE = "a key passphrase for the bench, long enough";
const salt = crypto.getRandomValues(new Uint8Array(16));
const password = new TextEncoder().encode(PASSPHRASE);

async function time(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

const bundles: { v1?: string; v2?: string } = {};

const bench = {
  async prepare(): Promise<void> {
    const { signing, encryption } = await generateUserKeys();
    const keys = { signing: signing.privateJwk, encryption: encryption.privateJwk };
    bundles.v1 = await sealLegacyKeyBundle(keys, PASSPHRASE);
    bundles.v2 = await sealKeyBundle(keys, PASSPHRASE);
  },
  /** The version 1 derivation alone: PBKDF2-HMAC-SHA512, 210,000 rounds, in WebCrypto. */
  pbkdf2: () =>
    time(async () => {
      const key = await crypto.subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);
      await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-512", salt, iterations: 210_000 }, key, 256);
    }),
  argon2InThread: (which: "current" | "floor") => time(() => argon2idInThread(password, salt, params(which))),
  argon2InWorker: (which: "current" | "floor") => time(() => derive(password, salt, params(which))),
  openV1: () => time(() => openKeyBundleJwks(bundles.v1!, PASSPHRASE)),
  openV2: () => time(() => openKeyBundleJwks(bundles.v2!, PASSPHRASE, derive)),
  /** Milliseconds between animation frames while a version 2 open runs in the Worker: the page keeps drawing. */
  async longestFrameGapDuringOpen(): Promise<number> {
    let last = performance.now();
    let longest = 0;
    let running = true;
    const frame = () => {
      const now = performance.now();
      longest = Math.max(longest, now - last);
      last = now;
      if (running) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    await openKeyBundleJwks(bundles.v2!, PASSPHRASE, derive);
    running = false;
    return longest;
  },
};

function params(which: "current" | "floor"): Argon2Params {
  return { ...(which === "current" ? ARGON2ID_PARAMS : ARGON2ID_FLOOR) };
}

(window as unknown as { bench: typeof bench }).bench = bench;
document.title = "bench ready";
