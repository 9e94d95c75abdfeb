/**
 * Secrets the server must be able to use but should not keep in the clear (TOTP seeds), sealed
 * with AES-256-GCM under the data key: the Workers secret `DATA_KEY` (`wrangler secret put
 * DATA_KEY`; on Deno the environment variable, or a key file the host makes in the data folder),
 * 32 random bytes in base64. The key is never in D1, so a copy of the database alone opens nothing.
 *
 * Envelope (text, in the column): `v1.<key id>.<iv>.<ciphertext and tag>`, base64url without
 * padding; the key id is the first 8 bytes of SHA-256("custody data key" || key), hex, so a row
 * names the key that opens it and a rotated key (`DATA_KEY_PREVIOUS`) still opens old rows. The
 * additional data binds the envelope to its version, key id and place (table, column, row id):
 * a sealed value copied into another user's row does not open there.
 */
import { ApiError } from "./errors";

const VERSION = "v1";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One data key, imported. */
export interface DataKey {
  id: string;
  key: CryptoKey;
}

/** The keys a deployment holds: the current one (seals and opens) and, while rotating, the previous one (opens only). */
export interface DataKeys {
  current: DataKey;
  previous: DataKey | null;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array {
  const binary = atob(text.trim().replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
}

const imported = new Map<string, Promise<DataKey>>();

/** Imports a data key given as base64 or base64url of 32 bytes (e.g. `openssl rand -base64 32`). */
export function importDataKey(encoded: string, name = "DATA_KEY"): Promise<DataKey> {
  let cached = imported.get(encoded);
  if (!cached) {
    cached = (async () => {
      let raw: Uint8Array;
      try {
        raw = fromBase64(encoded);
      } catch {
        raw = new Uint8Array(0);
      }
      if (raw.length !== 32) throw new Error(`${name} must be 32 random bytes in base64 (e.g. the output of \`openssl rand -base64 32\`).`);
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array([...encoder.encode("custody data key"), ...raw])));
      const id = [...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("");
      // Not extractable: nothing in the worker can read the key back out.
      const key = await crypto.subtle.importKey("raw", Uint8Array.from(raw), { name: "AES-GCM" }, false, ["encrypt", "decrypt"]);
      return { id, key };
    })();
    imported.set(encoded, cached);
    cached.catch(() => imported.delete(encoded));
  }
  return cached;
}

/** The deployment's data keys from its bindings; a 503 `data_key_missing` when `DATA_KEY` is not set. */
export async function dataKeys(env: Env): Promise<DataKeys> {
  const bindings = env as unknown as { DATA_KEY?: unknown; DATA_KEY_PREVIOUS?: unknown };
  if (typeof bindings.DATA_KEY !== "string" || bindings.DATA_KEY.trim() === "") {
    throw new ApiError(503, "data_key_missing", "The server has no data key (the DATA_KEY secret), so it cannot use authenticator apps. An administrator of the deployment must set it.");
  }
  const current = await importDataKey(bindings.DATA_KEY);
  const previous = typeof bindings.DATA_KEY_PREVIOUS === "string" && bindings.DATA_KEY_PREVIOUS.trim() !== "" ? await importDataKey(bindings.DATA_KEY_PREVIOUS, "DATA_KEY_PREVIOUS") : null;
  return { current, previous };
}

function additionalData(keyId: string, place: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(encoder.encode(`custody/${VERSION}/${keyId}/${place}`));
}

/** Seals `plaintext` (UTF-8) for `place` (e.g. `totp_credentials.secret/<user id>`) under the current key; answers the envelope text. */
export async function seal(keys: DataKeys, place: string, plaintext: string): Promise<string> {
  // A fresh random 96-bit IV per seal: each value is sealed a handful of times in its life, far below GCM's random-IV limit.
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: additionalData(keys.current.id, place) }, keys.current.key, encoder.encode(plaintext)),
  );
  return `${VERSION}.${keys.current.id}.${toBase64Url(iv)}.${toBase64Url(sealed)}`;
}

/** The key id an envelope names, or null if `text` is not an envelope. */
export function envelopeKeyId(text: string): string | null {
  const parts = text.split(".");
  return parts.length === 4 && parts[0] === VERSION ? parts[1]! : null;
}

/** Opens an envelope made by `seal` for the same `place`; throws if it is not one, names an unknown key, or fails its tag. */
export async function open(keys: DataKeys, place: string, envelope: string): Promise<string> {
  const parts = envelope.split(".");
  if (parts.length !== 4 || parts[0] !== VERSION) throw new Error("not a sealed value");
  const [, keyId, iv, sealed] = parts as [string, string, string, string];
  const key = [keys.current, keys.previous].find((k) => k?.id === keyId);
  if (!key) throw new Error(`sealed under data key ${keyId}, which this deployment does not hold`);
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: Uint8Array.from(fromBase64(iv)), additionalData: additionalData(keyId, place) },
    key.key,
    Uint8Array.from(fromBase64(sealed)),
  );
  return decoder.decode(plain);
}
