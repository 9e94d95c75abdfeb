/** The words for a failed action: the server's own message, or, for anything else (a bug in the app), what to do next. */
import { ApiError } from "../api/client";

export function messageOf(error: unknown): string {
  return error instanceof ApiError ? error.message : "Something went wrong in the app. Reload the page and try again.";
}
