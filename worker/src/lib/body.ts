import type { Context } from "hono";
import { ApiError } from "./errors";

/** A request body that broke off: shorter than its Content-Length (the client stopped sending, or went away). */
export function incompleteBody(): ApiError {
  return new ApiError(400, "incomplete_body", "The request body ended before its declared length.");
}

/**
 * The request body's bytes (read once; Hono keeps them for the validators after). A body that
 * breaks off makes the runtime's stream fail: that is the client's fault, so it is a 400, not a 500.
 */
export async function requestBytes(c: Context): Promise<Uint8Array> {
  try {
    return new Uint8Array(await c.req.arrayBuffer());
  } catch {
    throw incompleteBody();
  }
}
