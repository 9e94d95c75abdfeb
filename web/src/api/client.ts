/**
 * The web app's only way to the API. `client` is Hono's typed client for the worker's routes;
 * `api` wraps each call so it resolves to the parsed response body or throws an `ApiError`
 * with the server's code, message and per-field issues. Requests are same-origin, carry the
 * HttpOnly session cookie, and send JSON.
 */
import { hc } from "hono/client";
import type { z } from "zod";
import type { AppType } from "../../../worker/src/index";
import {
  ErrorBody,
  Health,
  Invitation,
  MyKeys,
  PasskeyBundle,
  MyRecoveryRequest,
  PendingRecoveryList,
  RecoveryKeyInfo,
  SessionInfo,
  SetupStatus,
  User,
  UserList,
  type AcceptInvitationRequest,
  type CompleteRecoveryRequest,
  type CreateRecoveryRequest,
  type ReleaseRecoveryRequest,
  type CreateUserRequest,
  type RegisterKeysRequest,
  type ReplaceBundleRequest,
  type SetupRequest,
  type SignInRequest,
  type UpdateUserRequest,
} from "../../../shared/api/schemas";
import { SignInResult } from "../../../shared/api/identity";
import { reportReachable, reportUnreachable } from "./connectivity";

export const UNREACHABLE_MESSAGE = "Can't reach the Custody server. Check your connection and try again.";

export interface FieldIssue {
  /** Dotted path of the field in the request body, e.g. "admin.email". */
  path: string;
  message: string;
}

/** A failed API call. `status` is 0 when the server could not be reached at all. */
export class ApiError extends Error {
  override readonly name = "ApiError";

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
  ) {
    super(message);
  }

  /** True when the server was not reached (offline, DNS, proxy without a server behind it). */
  get unreachable(): boolean {
    return this.code === "unreachable";
  }

  /** The first message for each field path, for showing beside the inputs. */
  get fieldErrors(): Record<string, string> {
    const errors: Record<string, string> = {};
    for (const issue of this.issues) errors[issue.path] ??= issue.message;
    return errors;
  }
}

let sessionEndedHandler: (() => void) | undefined;

/** Called whenever the API answers 401: the app decides whether that means a session ended. */
export function onUnauthorized(handler: (() => void) | undefined): void {
  sessionEndedHandler = handler;
}

/** `fetch` for API calls: same-origin cookies, JSON accepted, and a network failure becomes an `ApiError`. */
export async function send(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("Accept", "application/json");
  let response: Response;
  try {
    response = await fetch(input, { ...init, headers, credentials: "same-origin" });
  } catch (error) {
    if (init.signal?.aborted) throw error;
    reportUnreachable();
    throw new ApiError(0, "unreachable", UNREACHABLE_MESSAGE);
  }
  reportReachable();
  return response;
}

/** Slash paths ("/admin/email") and dotted paths ("admin.email") name the same field. */
function normalisePath(path: string): string {
  return path.replace(/^\/+/, "").replaceAll("/", ".");
}

async function errorFrom(response: Response): Promise<ApiError> {
  const body: unknown = await response.json().catch(() => undefined);
  const parsed = ErrorBody.safeParse(body);
  if (parsed.success) {
    const { code, message, issues = [] } = parsed.data.error;
    return new ApiError(
      response.status,
      code,
      message,
      issues.map((issue) => ({ path: normalisePath(issue.path), message: issue.message })),
    );
  }
  // No error body from the API: something between us and it (a proxy, the network) answered.
  if (response.status >= 500) return new ApiError(response.status, "unreachable", UNREACHABLE_MESSAGE);
  return new ApiError(
    response.status,
    "unexpected_response",
    `The server answered with an unexpected error (HTTP ${response.status}). Reload the page and try again.`,
  );
}

/**
 * Resolves a response to its body parsed with `schema` (or undefined for 204), or throws an
 * `ApiError`. Every 401 is reported to the `onUnauthorized` handler before it is thrown.
 */
export async function readResponse<S extends z.ZodType>(
  pending: Promise<Response> | Response,
  schema: S,
): Promise<z.output<S>>;
export async function readResponse(pending: Promise<Response> | Response, schema?: undefined): Promise<void>;
export async function readResponse(
  pending: Promise<Response> | Response,
  schema?: z.ZodType,
): Promise<unknown> {
  const response = await pending;
  if (!response.ok) {
    const error = await errorFrom(response);
    if (response.status === 401) sessionEndedHandler?.();
    throw error;
  }
  if (!schema) return undefined;
  const body: unknown = await response.json().catch(() => undefined);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    // A 200 that is not the API's JSON: usually an HTML page from something that is not the API.
    if (body === undefined) throw new ApiError(response.status, "unreachable", UNREACHABLE_MESSAGE);
    throw new ApiError(
      response.status,
      "unexpected_response",
      "The server sent an answer this app doesn't understand. Reload the page; if that doesn't help, tell your administrator.",
    );
  }
  return parsed.data;
}

/** For a route not (yet) in `AppType`: `apiFetch("/api/x", { method: "POST", json }, Schema)`. */
export function apiFetch<S extends z.ZodType>(
  path: string,
  options: { method?: string; json?: unknown; signal?: AbortSignal },
  schema: S,
): Promise<z.output<S>> {
  const init: RequestInit = { method: options.method ?? "GET", signal: options.signal };
  if (options.json !== undefined) {
    init.body = JSON.stringify(options.json);
    init.headers = { "Content-Type": "application/json" };
  }
  return readResponse(send(path, init), schema);
}

/** Hono's typed client for the worker's routes, sending through `send`. */
export const client = hc<AppType>("/", { fetch: send });

export const api = {
  health: () => readResponse(client.api.health.$get(), Health),
  setupStatus: () => readResponse(client.api.setup.$get(), SetupStatus),
  setup: (json: SetupRequest) => readResponse(client.api.setup.$post({ json }), SessionInfo),
  /** Password sign-in; with MFA, resolves to the session waiting for its second factor (stage "mfa_pending"). */
  signIn: async (json: SignInRequest) => {
    const result = await readResponse(client.api.auth["sign-in"].$post({ json }), SignInResult);
    return "mfaRequired" in result ? readResponse(client.api.auth.session.$get(), SessionInfo) : result;
  },
  signOut: () => readResponse(client.api.auth["sign-out"].$post()),
  session: () => readResponse(client.api.auth.session.$get(), SessionInfo),
  /** A page of the organisation's users, by name. */
  listUsers: (query: { cursor?: string; limit?: string } = {}) => readResponse(client.api.users.$get({ query }), UserList),
  createUser: (json: CreateUserRequest) => readResponse(client.api.users.$post({ json }), Invitation),
  updateUser: (id: string, json: UpdateUserRequest) =>
    readResponse(client.api.users[":id"].$patch({ param: { id }, json }), User),
  /** Makes the user a supervisor of the organisation (every new case key is wrapped to them too), or ends it. */
  setSupervisor: (id: string, supervisor: boolean) => readResponse(client.api.users[":id"].supervisor.$put({ param: { id }, json: { supervisor } }), User),
  acceptInvitation: (json: AcceptInvitationRequest) =>
    readResponse(client.api.invitations.accept.$post({ json }), SessionInfo),
  /** Your public keys and sealed key bundle; 404 `no_keys` until you create them. */
  myKeys: () => readResponse(client.api.keys.me.$get(), MyKeys),
  /** Registers your first keys (public halves + sealed bundle); 409 `keys_exist` if you already have some. */
  registerKeys: (json: RegisterKeysRequest) => readResponse(client.api.keys.me.$put({ json }), MyKeys),
  /** Replaces your bundle with the same keys sealed under a new passphrase. */
  replaceBundle: (json: ReplaceBundleRequest) => readResponse(client.api.keys.me.bundle.$put({ json }), MyKeys),
  /** Stores your keys sealed under the passkey `id`'s PRF output (passkey unlock on). */
  putPasskeyBundle: (id: string, bundle: string) => readResponse(client.api.keys.me.passkeys[":id"].$put({ param: { id }, json: { bundle } }), PasskeyBundle),
  /** Deletes the passkey `id`'s envelope (passkey unlock off). */
  deletePasskeyBundle: (id: string) => readResponse(client.api.keys.me.passkeys[":id"].$delete({ param: { id } })),
  recoveryKey: () => readResponse(client.api.keys.recovery.$get(), RecoveryKeyInfo),
  /** Asks an administrator to release your encryption key to a one-time transport key; 409 `recovery_open` if one is open. */
  requestRecovery: (json: CreateRecoveryRequest) => readResponse(client.api.keys.me.recovery.$post({ json }), MyRecoveryRequest),
  /** Your open recovery request (pending or released); 404 `no_recovery` when there is none. */
  myRecovery: () => readResponse(client.api.keys.me.recovery.$get(), MyRecoveryRequest),
  /** Cancels your open recovery request (204 even if there was none). */
  cancelRecovery: () => readResponse(client.api.keys.me.recovery.$delete()),
  /** Finishes recovery: a new signing key, the recovered encryption key sealed under a new passphrase, a new escrow. */
  completeRecovery: (json: CompleteRecoveryRequest) =>
    readResponse(client.api.keys.me.recovery.complete.$post({ json }), MyKeys),
  /** Admin: pending recovery requests, each with the user's escrow and transport key. */
  recoveryRequests: () => readResponse(client.api.keys["recovery-requests"].$get(), PendingRecoveryList),
  /** Admin: releases a request with the escrowed key re-wrapped to the user's transport key; 403 `own_request` for your own. */
  releaseRecovery: (id: string, json: ReleaseRecoveryRequest) =>
    readResponse(client.api.keys["recovery-requests"][":id"].release.$post({ param: { id }, json }), MyRecoveryRequest),
};
