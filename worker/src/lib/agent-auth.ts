/**
 * Authentication of a site's agent: every request is signed with the agent's ES512 key
 * (shared/agent/signature.ts). Checked here: the key is the site's current signing key, the
 * signature binds this method, path, query and body, it is fresh (5 minutes either side), and
 * its nonce was never seen before (recorded by the site's Durable Object, one writer per site).
 */
import type { MiddlewareHandler } from "hono";
import type { JWK } from "jose";
import { AGENT_AUTH_PARAM, AGENT_AUTH_SCHEME, AGENT_CLOCK_WINDOW_MS, AgentAuthError, agentRequestKid, bodyHash, verifyAgentRequest } from "../../../shared/agent/signature";
import { findAgentSigningKey } from "../db/video";
import type { AppEnv } from "../env";
import { requestBytes } from "./body";
import { ApiError } from "./errors";
import { siteLive } from "./video";

/** Reads the raw body first, so the signature is checked over the bytes sent (the JSON validator then parses the same bytes). */
export const rawBody: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD") await requestBytes(c);
  await next();
};

/** The signature of the request: the `Authorization: Custody-Agent …` header, or the `auth` query parameter (WebSocket upgrade). */
export function agentSignature(request: Request): string | null {
  const header = request.headers.get("Authorization");
  if (header?.startsWith(`${AGENT_AUTH_SCHEME} `)) return header.slice(AGENT_AUTH_SCHEME.length + 1).trim();
  return new URL(request.url).searchParams.get(AGENT_AUTH_PARAM);
}

const refused = (why: string) => new ApiError(401, "agent_unauthenticated", why);

/** Requires a signed request from an enrolled site's agent; sets `agent`. Use after `rawBody` (and after validation). */
export const requireAgent: MiddlewareHandler<AppEnv> = async (c, next) => {
  const jws = agentSignature(c.req.raw);
  if (!jws) throw refused("This route is for a site's agent: sign the request (docs/agent.md).");
  let kid: string;
  try {
    kid = agentRequestKid(jws);
  } catch (err) {
    throw refused(err instanceof AgentAuthError ? err.message : "The request signature is not valid.");
  }
  const key = await findAgentSigningKey(c.env.DB, kid);
  if (!key || key.retired_at !== null) throw refused("This agent key is not (or no longer) enrolled. Enrol the agent again with a new configuration file.");
  const body = c.req.method === "GET" || c.req.method === "HEAD" ? undefined : new Uint8Array(await c.req.arrayBuffer());
  let nonce: string;
  let signedAt: number;
  try {
    const claims = await verifyAgentRequest(jws, JSON.parse(key.public_jwk) as JWK, { method: c.req.method, url: new URL(c.req.url), bodyHash: await bodyHash(body) });
    nonce = claims.n;
    signedAt = claims.t;
  } catch (err) {
    throw refused(err instanceof AgentAuthError ? err.message : "The request signature is not valid.");
  }
  if (!(await siteLive(c.env, key.site_id).useNonce(nonce, signedAt + AGENT_CLOCK_WINDOW_MS + 60_000))) {
    throw refused("This signed request was already used (a replay).");
  }
  c.set("agent", { siteId: key.site_id, siteName: key.site_name, orgId: key.org_id });
  await next();
};
