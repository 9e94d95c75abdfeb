import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { ErrorBody, Invitation, PublicJwk, Role, SessionInfo } from "../../shared/api/schemas";
import { generateRecoveryKeyPair } from "../../shared/crypto";

export const ORIGIN = "http://localhost:8787";
export const ADMIN = { email: "ada@example.org", name: "Ada Admin", password: "correct horse battery staple" };

export interface CallOptions {
  method?: string;
  /** A JSON value, or a raw string sent as-is (for malformed-body tests). */
  body?: unknown;
  cookie?: string | null;
  headers?: Record<string, string>;
}

/** One request to the worker under test, as a same-origin browser would send it. */
export function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Origin: ORIGIN, ...options.headers };
  if (options.cookie) headers.Cookie = options.cookie;
  let body: string | Uint8Array<ArrayBuffer> | undefined;
  if (options.body instanceof Uint8Array) {
    body = options.body as Uint8Array<ArrayBuffer>;
    headers["Content-Type"] ??= "application/octet-stream";
  } else if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["Content-Type"] ??= "application/json";
  }
  return exports.default.fetch(new Request(`${ORIGIN}${path}`, { method: options.method ?? (body ? "POST" : "GET"), headers, body }));
}

/** The `name=value` part of the response's session cookie. */
export function sessionCookie(response: Response): string {
  const header = response.headers.get("Set-Cookie") ?? "";
  const match = /custody_session=([^;]*)/.exec(header);
  if (!match?.[1]) throw new Error(`no session cookie in ${JSON.stringify(header)}`);
  return `custody_session=${match[1]}`;
}

export async function expectError(response: Response, status: number, code?: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (code) expect(body.error.code).toBe(code);
  return body;
}

/** A fresh recovery key's public half, as the browser sends it at setup. */
export async function recoveryPublicKey(): Promise<PublicJwk> {
  const { publicJwk } = await generateRecoveryKeyPair();
  return publicJwk as PublicJwk;
}

/** Runs first-run setup; returns the administrator's session cookie and the session. */
export async function setUpOrganisation(): Promise<{ cookie: string; session: SessionInfo }> {
  const response = await call("/api/setup", {
    body: { organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: await recoveryPublicKey() },
  });
  expect(response.status).toBe(201);
  return { cookie: sessionCookie(response), session: (await response.json()) as SessionInfo };
}

/** Invites a user as `adminCookie`, accepts the invitation; returns their cookie and session. */
export async function addUser(
  adminCookie: string,
  user: { email: string; name: string; role: Role },
  password = "a long enough passphrase",
): Promise<{ cookie: string; session: SessionInfo }> {
  const invited = await call("/api/users", { body: user, cookie: adminCookie });
  expect(invited.status).toBe(201);
  const { token } = (await invited.json()) as Invitation;
  const accepted = await call("/api/invitations/accept", { body: { token, password } });
  expect(accepted.status).toBe(200);
  return { cookie: sessionCookie(accepted), session: (await accepted.json()) as SessionInfo };
}
