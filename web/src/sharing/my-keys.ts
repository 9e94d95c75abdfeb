/** My signing public key as the server has it registered (the device holds only the private half). */
import type { JWK } from "jose";
import { api, ApiError } from "../api/client";

export async function myKeys(signingKid: string): Promise<JWK> {
  const mine = await api.myKeys();
  if (mine.signing.kid !== signingKid) throw new ApiError(409, "keys_changed", "Your keys changed on another device. Reload the page and unlock them again.");
  return mine.signing.publicJwk as JWK;
}
