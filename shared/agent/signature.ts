/**
 * Signed requests of a site's agent (docs/agent.md, "Authentication"). Every API call the agent
 * makes carries `Authorization: Custody-Agent <compact JWS>`: ES512 by the agent's signing key
 * (`kid` = its RFC 7638 thumbprint, `typ` custody-agent-request+jws) over the method, the path
 * with its query, the SHA-256 of the body, the time and a random nonce. The server checks the
 * signature against the registered key, every bound field, a clock window, and refuses a nonce
 * it has seen (no replay). WebCrypto and jose only: the agent (Node, Deno), the worker and the
 * tests share this file.
 */
import { CompactSign, compactVerify, decodeProtectedHeader, type JWK } from "jose";
import { fromUtf8, toBase64url, utf8 } from "../crypto/encoding";
import { importSigningPublicKey, keyId, type UnlockedKey } from "../crypto/keys";

export const AGENT_AUTH_SCHEME = "Custody-Agent";
export const AGENT_REQUEST_TYP = "custody-agent-request+jws";
/** A signed request is accepted this long either side of the server's clock. */
export const AGENT_CLOCK_WINDOW_MS = 5 * 60 * 1000;
/** The query parameter that carries the signature where no header can (the WebSocket upgrade). */
export const AGENT_AUTH_PARAM = "auth";

/** What the signature binds (payload of the JWS). */
export interface AgentRequestClaims {
  v: 1;
  /** HTTP method, upper case. */
  m: string;
  /** Path and query, as sent (without the `auth` parameter). */
  p: string;
  /** SHA-256 of the body, base64url (of zero bytes when there is none). */
  h: string;
  /** Milliseconds since the epoch when signed. */
  t: number;
  /** 16 random bytes, base64url: refused if seen before. */
  n: string;
}

/** SHA-256 of `body` (empty when undefined), base64url. */
export async function bodyHash(body: Uint8Array | undefined): Promise<string> {
  return toBase64url(new Uint8Array(await crypto.subtle.digest("SHA-256", (body ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>)));
}

/** The part of a URL a signature covers: path and query, with any `auth` parameter left out. */
export function signedTarget(url: URL): string {
  const params = new URLSearchParams(url.search);
  params.delete(AGENT_AUTH_PARAM);
  const query = params.toString();
  return url.pathname + (query ? `?${query}` : "");
}

/** Signs one request: the compact JWS for the `Authorization: Custody-Agent …` header (or the `auth` parameter). */
export async function signAgentRequest(
  signer: UnlockedKey,
  request: { method: string; url: URL; body?: Uint8Array },
  now = Date.now(),
): Promise<string> {
  const claims: AgentRequestClaims = {
    v: 1,
    m: request.method.toUpperCase(),
    p: signedTarget(request.url),
    h: await bodyHash(request.body),
    t: now,
    n: toBase64url(crypto.getRandomValues(new Uint8Array(16))),
  };
  return new CompactSign(utf8(JSON.stringify(claims))).setProtectedHeader({ alg: "ES512", kid: signer.kid, typ: AGENT_REQUEST_TYP }).sign(signer.privateKey);
}

/** Why a signed request was refused (the server answers 401 with this). */
export class AgentAuthError extends Error {
  override readonly name = "AgentAuthError";
}

/** The `kid` a signed request claims (unverified), to look up the key. */
export function agentRequestKid(jws: string): string {
  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw new AgentAuthError("The request signature is not a compact JWS.");
  }
  if (header.typ !== AGENT_REQUEST_TYP || header.alg !== "ES512" || typeof header.kid !== "string") {
    throw new AgentAuthError("The request signature is not a Custody agent signature.");
  }
  return header.kid;
}

/**
 * Verifies a signed request against the agent's public JWK and what actually arrived. Answers
 * the claims (the caller still has to refuse a nonce it has seen); throws AgentAuthError.
 */
export async function verifyAgentRequest(
  jws: string,
  publicJwk: JWK,
  arrived: { method: string; url: URL; bodyHash: string },
  now = Date.now(),
): Promise<AgentRequestClaims> {
  if (agentRequestKid(jws) !== (await keyId(publicJwk))) throw new AgentAuthError("Signed with another key than the one named.");
  let payload: Uint8Array;
  try {
    payload = (await compactVerify(jws, await importSigningPublicKey(publicJwk), { algorithms: ["ES512"] })).payload;
  } catch {
    throw new AgentAuthError("The request signature does not verify.");
  }
  let claims: AgentRequestClaims;
  try {
    claims = JSON.parse(fromUtf8(payload)) as AgentRequestClaims;
  } catch {
    throw new AgentAuthError("The signed claims are not JSON.");
  }
  if (claims.v !== 1 || typeof claims.n !== "string" || !/^[A-Za-z0-9_-]{22}$/.test(claims.n) || typeof claims.t !== "number") {
    throw new AgentAuthError("The signed claims are malformed.");
  }
  if (claims.m !== arrived.method.toUpperCase() || claims.p !== signedTarget(arrived.url)) throw new AgentAuthError("The signature is for another request.");
  if (claims.h !== arrived.bodyHash) throw new AgentAuthError("The body is not the one that was signed.");
  if (Math.abs(now - claims.t) > AGENT_CLOCK_WINDOW_MS) throw new AgentAuthError("The request was signed too long ago (or the agent's clock is wrong by more than 5 minutes).");
  return claims;
}
