import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { ErrorBody } from "../../../shared/api/schemas";

/** An error a client caused and can act on: becomes `{ error: { code, message } }` with `status`. */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(status, { message });
  }
}

const GENERIC_CODES: Partial<Record<number, string>> = {
  400: "bad_request",
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  409: "conflict",
  413: "payload_too_large",
  415: "unsupported_media_type",
  429: "too_many_requests",
};

/** Turns any thrown value into the uniform error body and its status. Never leaks internals. */
export function toErrorResponse(err: unknown): { status: ContentfulStatusCode; body: ErrorBody } {
  if (err instanceof ApiError) {
    return { status: err.status, body: { error: { code: err.code, message: err.message } } };
  }
  if (err instanceof HTTPException) {
    if (err.cause instanceof z.ZodError) {
      const issues = err.cause.issues.map((issue) => ({
        path: issue.path.map(String).join("."),
        message: issue.message,
      }));
      const first = issues[0];
      // The message is for people: the field's own words, never its path (the path is in `issues`).
      const message = first ? first.message : "The request is not valid.";
      return { status: 400, body: { error: { code: "validation_failed", message, issues } } };
    }
    const status = err.status as ContentfulStatusCode;
    const code = GENERIC_CODES[status] ?? (status >= 500 ? "internal_error" : "request_failed");
    return { status, body: { error: { code, message: err.message || "The request failed." } } };
  }
  return {
    status: 500,
    body: { error: { code: "internal_error", message: "Something went wrong on the server. Try again; if it keeps happening, tell your administrator." } },
  };
}
