/**
 * The agent's side of the API: its keys (made at enrolment, kept owner-only on the site's disk)
 * and signed requests (shared/agent/signature.ts). fetch and WebCrypto only.
 */
import type { JWK } from "jose";
import { AGENT_AUTH_PARAM, AGENT_AUTH_SCHEME, signAgentRequest } from "../shared/agent/signature.ts";
import type { AgentSite } from "../shared/api/video.ts";
import { generateUserKeys, importPrivateKey, type UnlockedKey } from "../shared/crypto/index.ts";
import type { AgentConfig } from "./config.ts";
import { ensurePrivateDir, exists, join, readText, writePrivateFile } from "./platform.ts";

/** The keys file in the data folder (owner-only): the agent's private keys, as JWKs. */
interface KeysFile {
  type: "custody-agent-keys";
  v: 1;
  server: string;
  siteId: string;
  signing: JWK;
  encryption: JWK;
  /** False until the server has registered the public halves (an interrupted enrolment is retried with the same keys). */
  enrolled: boolean;
}

export interface AgentKeys {
  signing: UnlockedKey;
  encryption: UnlockedKey;
}

/** An answer that is not 2xx: the server's error code and message. */
export class ApiFailure extends Error {
  override readonly name = "ApiFailure";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class AgentApi {
  constructor(
    private readonly server: string,
    private readonly keys: AgentKeys,
  ) {}

  /** A signed request; answers the parsed JSON (or null for 204), throws ApiFailure otherwise. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = new URL(path, this.server);
    const bytes = body === undefined ? undefined : new TextEncoder().encode(JSON.stringify(body));
    const jws = await signAgentRequest(this.keys.signing, { method, url, ...(bytes ? { body: bytes } : {}) });
    const headers: Record<string, string> = { Authorization: `${AGENT_AUTH_SCHEME} ${jws}`, Accept: "application/json", "User-Agent": "custody-agent/1" };
    if (bytes) headers["Content-Type"] = "application/json";
    const response = await fetch(url, { method, headers, ...(bytes ? { body: bytes } : {}) });
    return readAnswer<T>(response);
  }

  /** PUT a ciphertext part to a signed upload URL (no signature needed: the URL is the authority). */
  async putPart(path: string, bytes: Uint8Array): Promise<void> {
    const response = await fetch(new URL(path, this.server), { method: "PUT", headers: { "Content-Type": "application/octet-stream" }, body: bytes as Uint8Array<ArrayBuffer> });
    await readAnswer(response);
  }

  /** The live connection's URL, signed (a WebSocket cannot carry the header). */
  async liveUrl(): Promise<string> {
    const url = new URL("/api/agent/live", this.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const jws = await signAgentRequest(this.keys.signing, { method: "GET", url: new URL("/api/agent/live", this.server) });
    url.searchParams.set(AGENT_AUTH_PARAM, jws);
    return url.toString();
  }
}

export async function readAnswer<T>(response: Response): Promise<T> {
  if (response.status === 204) return null as T;
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiFailure(response.status, error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`);
  }
  return json as T;
}

/**
 * The agent's keys: loaded from the data folder, or, the first time, made (ES512 signing and
 * ECDH P-521 encryption), saved owner-only, and enrolled with the configuration file's one-time
 * token in a request signed by the new signing key.
 */
export async function loadOrEnrol(config: AgentConfig, log: (line: string) => void): Promise<AgentKeys> {
  await ensurePrivateDir(config.dataDir);
  const path = join(config.dataDir, "agent-keys.json");
  let file: KeysFile;
  if (await exists(path)) {
    file = JSON.parse(await readText(path)) as KeysFile;
    if (file.type !== "custody-agent-keys" || file.siteId !== config.siteId) throw new Error(`${path} belongs to another site; use another dataDir.`);
  } else {
    const made = await generateUserKeys();
    file = { type: "custody-agent-keys", v: 1, server: config.server, siteId: config.siteId, signing: made.signing.privateJwk, encryption: made.encryption.privateJwk, enrolled: false };
    await writePrivateFile(path, JSON.stringify(file, null, 2));
  }
  const keys: AgentKeys = { signing: await importPrivateKey(file.signing, "sign"), encryption: await importPrivateKey(file.encryption, "enc") };
  if (!file.enrolled) {
    if (!config.enrolmentToken) throw new Error("This agent is not enrolled yet and the configuration file has no enrolmentToken. Download a new configuration file (Admin → Sites).");
    const api = new AgentApi(config.server, keys);
    const site = await api.request<AgentSite>("POST", "/api/agent/enrol", {
      siteId: config.siteId,
      token: config.enrolmentToken,
      signingKey: keys.signing.publicJwk,
      encryptionKey: keys.encryption.publicJwk,
    });
    file.enrolled = true;
    await writePrivateFile(path, JSON.stringify(file, null, 2));
    log(`enrolled with ${config.server} as the agent of "${site.name}" (signing key ${site.signingKid})`);
  }
  return keys;
}
