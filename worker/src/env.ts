import type { User } from "../../shared/api/schemas";

/** What a request handler can reach: the bindings, and what middleware put in context. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** The signed-in user, set by `requireSession`. */
    user: User & { orgId: string };
    /** SHA-256 (hex) of the current session token, set by `requireSession`. */
    sessionHash: string;
    /** The current session's row (stage, last authentication), set by `requireSession`. */
    session: import("./db/sessions").SessionRow;
    /** The site agent a signed request came from, set by `requireAgent` (worker/src/lib/agent-auth.ts). */
    agent: { siteId: string; siteName: string; orgId: string };
    /** The sign-in attempt this request reserved in its IP's window, until it is kept or given back (lib/throttle.ts). */
    signInAttempt: number | null;
    /** Set once the request has written an audit event (so a refusal is not recorded twice). */
    audited: boolean;
  };
}
