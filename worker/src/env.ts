import type { User } from "../../shared/api/schemas";

/** What a request handler can reach: the bindings, and what middleware put in context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The signed-in user, set by `requireSession`. */
    user: User & { orgId: string };
    /** SHA-256 (hex) of the current session token, set by `requireSession`. */
    sessionHash: string;
  };
}
