import { expect } from "vitest";
import type { MfaEnrolled, SignInResult, TotpSetup } from "../../shared/api/identity";
import type { ErrorBody, Invitation, PublicJwk, Role, SessionInfo } from "../../shared/api/schemas";
import { changeKeyBundlePassphrase, generateRecoveryKeyPair, openKeyBundle, sealKeyBundle, type Argon2Derive, type UserPrivateKeys } from "../../shared/crypto";
import { base32Decode, hotp, timeStep } from "../../worker/src/lib/totp";
import { backend } from "./backend";

export const ORIGIN = "http://localhost:8787";
export const ADMIN = { email: "ada@example.org", name: "Ada Admin", password: "correct horse battery staple" };

export interface CallOptions {
  method?: string;
  /** A JSON value; a string or bytes are sent as they are (malformed bodies, ciphertext parts). */
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
  return backend.fetch(new Request(`${ORIGIN}${path}`, { method: options.method ?? (body ? "POST" : "GET"), headers, body }));
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

/** A signed-in user as the tests hold them: the session cookie, the session, and their TOTP secret. */
export interface TestUser {
  cookie: string;
  session: SessionInfo;
  totpSecret: string;
  recoveryCodes: string[];
}

const lastStepUsed = new Map<string, number>();

/**
 * A TOTP code for `secret` the server has not seen yet: the earliest step within the accepted
 * drift (now-1..now+1) after the last one this helper used, waiting for the clock if need be.
 */
export async function freshTotpCode(secret: string): Promise<string> {
  for (;;) {
    const now = timeStep(Date.now());
    // The step before now is accepted only until the current step ends: skip it in the last 8 s of
    // the step, so a code cannot fall out of the server's window on its way there.
    const earliest = Date.now() % 30_000 > 22_000 ? now : now - 1;
    const step = Math.max(earliest, (lastStepUsed.get(secret) ?? -Infinity) + 1);
    if (step <= now + 1) {
      lastStepUsed.set(secret, step);
      return hotp(base32Decode(secret), step);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Enrols TOTP in the session `cookie` (restricted to enrolment or not); returns the new cookie and secret. */
export async function enrolTotp(cookie: string): Promise<{ cookie: string; secret: string; enrolled: MfaEnrolled }> {
  const started = await call("/api/mfa/totp", { method: "POST", cookie });
  expect(started.status).toBe(201);
  const { secret } = (await started.json()) as TotpSetup;
  const confirmed = await call("/api/mfa/totp/confirm", { body: { code: await freshTotpCode(secret) }, cookie });
  expect(confirmed.status).toBe(200);
  const enrolled = (await confirmed.json()) as MfaEnrolled;
  const next = confirmed.headers.get("Set-Cookie") ? sessionCookie(confirmed) : cookie;
  return { cookie: next, secret, enrolled };
}

/** A restricted session (MFA enrolment) as setup and invitation leave it, made full by enrolling TOTP. */
export async function withTotp(response: Response): Promise<TestUser> {
  const first = (await response.json()) as SessionInfo;
  expect(first.stage).toBe("mfa_enrolment");
  const { cookie, secret, enrolled } = await enrolTotp(sessionCookie(response));
  expect(enrolled.session.stage).toBe("active");
  return { cookie, session: enrolled.session, totpSecret: secret, recoveryCodes: enrolled.recoveryCodes ?? [] };
}

/** Runs first-run setup and enrols the administrator's TOTP; returns their full session. */
export async function setUpOrganisation(): Promise<TestUser> {
  const response = await call("/api/setup", {
    body: { organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: await recoveryPublicKey() },
  });
  expect(response.status).toBe(201);
  return withTotp(response);
}

/** Invites a user as `adminCookie`, accepts the invitation, enrols TOTP; returns their full session. */
export async function addUser(
  adminCookie: string,
  user: { email: string; name: string; role: Role },
  password = "a long enough passphrase",
): Promise<TestUser> {
  const invited = await call("/api/users", { body: user, cookie: adminCookie });
  expect(invited.status).toBe(201);
  const { token } = (await invited.json()) as Invitation;
  const accepted = await call("/api/invitations/accept", { body: { token, password } });
  expect(accepted.status).toBe(200);
  return withTotp(accepted);
}

/** Signs in with password and, when asked, a fresh TOTP code; returns the full session's cookie. */
export async function signIn(email: string, password: string, totpSecret?: string, headers?: Record<string, string>): Promise<{ cookie: string; session: SessionInfo }> {
  const first = await call("/api/auth/sign-in", { body: { email, password }, headers });
  expect(first.status).toBe(200);
  const result = (await first.json()) as SignInResult;
  if (!("mfaRequired" in result)) return { cookie: sessionCookie(first), session: result };
  if (!totpSecret) throw new Error(`${email} needs a second factor`);
  const second = await call("/api/auth/mfa", { body: { method: "totp", code: await freshTotpCode(totpSecret) }, cookie: sessionCookie(first), headers });
  expect(second.status).toBe(200);
  return { cookie: sessionCookie(second), session: (await second.json()) as SessionInfo };
}

// ---- key bundles in API tests

/**
 * The Argon2id derivation for bundles the API tests make. Inside workerd (the `worker` project)
 * WebAssembly cannot be compiled at run time, so hash-wasm's Argon2id cannot run there; the
 * server never derives (it checks headers only: tests/worker/passkey-bundles.test.ts), so these
 * tests seal with a PBKDF2 stand-in under the same header. Outside workerd (the `worker-deno`
 * project's test code runs in Node) the real Argon2id runs. The derivation itself is tested in
 * tests/unit/crypto/key-bundle.test.ts (Node and Chromium) and tests/e2e.
 */
const bundleDerive: Argon2Derive | undefined =
  typeof navigator !== "undefined" && navigator.userAgent === "Cloudflare-Workers"
    ? async (password, salt, params) => {
        const key = await crypto.subtle.importKey("raw", password as Uint8Array<ArrayBuffer>, "PBKDF2", false, ["deriveBits"]);
        const bits = await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations: params.m * params.t }, key, 256);
        return new Uint8Array(bits);
      }
    : undefined;

/** sealKeyBundle as the browser does it (see bundleDerive). */
export const sealBundle = (keys: UserPrivateKeys, passphrase: string) => sealKeyBundle(keys, passphrase, bundleDerive);
/** openKeyBundle for bundles made by sealBundle. */
export const openBundle = (jwe: string, passphrase: string) => openKeyBundle(jwe, passphrase, bundleDerive);
/** changeKeyBundlePassphrase for bundles made by sealBundle. */
export const changeBundlePassphrase = (jwe: string, oldPassphrase: string, newPassphrase: string) => changeKeyBundlePassphrase(jwe, oldPassphrase, newPassphrase, bundleDerive);
