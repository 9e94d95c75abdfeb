/**
 * The key derivation worker: one Argon2id derivation (hash-wasm, 64 MiB) per worker, off the UI
 * thread, so the page keeps answering while it runs (about a second on a phone). The page
 * starts a worker for each derivation and ends it after, which frees the memory at once.
 */
import { argon2idInThread } from "../../../shared/crypto/keys";
import type { KdfAnswer, KdfRequest } from "./kdf-messages";

const scope = self as unknown as { postMessage(message: KdfAnswer, transfer: Transferable[]): void; onmessage: ((event: MessageEvent<KdfRequest>) => void) | null };

scope.onmessage = async (event) => {
  const { password, salt, params } = event.data;
  try {
    const key = (await argon2idInThread(password, salt, params)) as Uint8Array<ArrayBuffer>;
    scope.postMessage({ key }, [key.buffer]);
  } catch (error) {
    scope.postMessage({ error: error instanceof Error ? error.message : String(error) }, []);
  } finally {
    password.fill(0);
  }
};
