/**
 * OpenID providers for the tests, run in Node on 127.0.0.1:
 *
 * - `startOidcProvider`: the real thing, `oidc-provider` (a certified OpenID Provider), with one
 *   confidential client for Custody, test accounts that carry email and groups claims, and its own
 *   development login pages (any password; the login is the account id). Consent is skipped for
 *   this first-party client, as an agency's IdP would configure it.
 * - `startFakeProvider`: a minimal hand-written provider whose token endpoint serves crafted ID
 *   tokens (wrong audience, `alg: none`, wrong nonce, expired, wrong issuer, forged signature),
 *   which a correct provider never issues. The scenario rides on the authorization request
 *   (`&scenario=...`) and sticks to the code it produces.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import Provider, { type Account, type KoaContext } from "oidc-provider";

export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
  emailVerified?: boolean;
}

/** The provider's accounts, by login (also their `sub`). */
export const OIDC_ACCOUNTS: Record<string, TestAccount> = {
  ada: { email: "ada@example.org", name: "Ada Admin", groups: ["custody-admins", "staff"] },
  ivy: { email: "ivy@example.org", name: "Ivy Investigator", groups: ["detectives", "staff"] },
  oscar: { email: "oscar@example.org", name: "Oscar Outsider", groups: ["detectives"] },
  sam: { email: "sam@example.org", name: "Sam Site", groups: ["camera-owners"] },
  nora: { email: "nora@example.org", name: "Nora Unverified", groups: [], emailVerified: false },
};

export const OIDC_CLIENT = { clientId: "custody", clientSecret: "custody-test-client-secret-0123456789" };

export interface RunningProvider {
  issuer: string;
  close(): Promise<void>;
}

function listen(server: Server): Promise<string> {
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((done) => server.close(() => done()));
}

/** Starts oidc-provider on a free port; `redirectUris` are the client's registered callbacks. */
export async function startOidcProvider(options: { redirectUris: string[] }): Promise<RunningProvider> {
  // The issuer needs the port, the port needs a listening server: listen first, then attach.
  let handler: ((req: IncomingMessage, res: import("node:http").ServerResponse) => void) | undefined;
  const server = createServer((req, res) => handler?.(req, res));
  const issuer = await listen(server);

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: OIDC_CLIENT.clientId,
        client_secret: OIDC_CLIENT.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ["authorization_code"],
        response_types: ["code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name"], groups: ["groups"] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    ttl: { AccessToken: 300, AuthorizationCode: 60, IdToken: 300, Interaction: 600, Session: 3600, Grant: 3600 },
    async findAccount(_ctx: unknown, id: string): Promise<Account | undefined> {
      const account = OIDC_ACCOUNTS[id];
      if (!account) return undefined;
      return {
        accountId: id,
        claims: () => ({ sub: id, email: account.email, email_verified: account.emailVerified ?? true, name: account.name, groups: account.groups }),
      };
    },
    // First-party client: what it asks for is granted without a consent screen.
    async loadExistingGrant(ctx: KoaContext) {
      const { client, session, result, provider: op } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return op.Grant.find(grantId);
      const grant = new op.Grant({ accountId: session.accountId, clientId: client.clientId });
      grant.addOIDCScope("openid email profile groups");
      await grant.save();
      return grant;
    },
  });
  handler = provider.callback();
  return { issuer, close: () => close(server) };
}

// ---- the fake provider, for tokens a real one never issues ----

export const FAKE_SCENARIOS = ["good", "wrong_audience", "alg_none", "wrong_nonce", "expired", "wrong_issuer", "forged_signature", "hs256", "replayed_token", "rotated_key", "unknown_kid"] as const;
export type FakeScenario = (typeof FAKE_SCENARIOS)[number];

interface PendingCode {
  scenario: FakeScenario;
  nonce: string;
  account: string;
}

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/**
 * Starts the fake provider: discovery, authorize (signs `login` in at once), token, JWKS, userinfo.
 * Also: `GET /jwks-hits` (how often the JWKS was fetched, to see the relying party's cache);
 * the `rotated_key` scenario signs with a second key, published in the JWKS from that moment on
 * (a key rotation); `unknown_kid` signs with a key the JWKS never holds. The issuer
 * `<issuer>/private-endpoints` has a discovery document whose JWKS is at a private address;
 * `<issuer>/html-page` answers its discovery address with a web page, not JSON.
 */
export async function startFakeProvider(): Promise<RunningProvider> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const other = await generateKeyPair("RS256");
  const rotated = await generateKeyPair("RS256");
  const kid = "fake-key-1";
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" };
  const rotatedJwk: JWK = { ...(await exportJWK(rotated.publicKey)), kid: "fake-key-2", alg: "RS256", use: "sig" };
  const published: JWK[] = [jwk];
  let jwksHits = 0;
  const codes = new Map<string, PendingCode>();
  let issuer = "";
  /** The last correct ID token issued, served again by the `replayed_token` scenario. */
  let lastGood: string | null = null;

  async function idToken(pending: PendingCode): Promise<string> {
    const account = OIDC_ACCOUNTS[pending.account]!;
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: pending.scenario === "wrong_issuer" ? "http://127.0.0.1:1/evil" : issuer,
      sub: pending.account,
      aud: pending.scenario === "wrong_audience" ? "some-other-client" : OIDC_CLIENT.clientId,
      iat: now,
      exp: pending.scenario === "expired" ? now - 3600 : now + 300,
      nonce: pending.scenario === "wrong_nonce" ? "not-the-nonce-that-was-sent" : pending.nonce,
      email: account.email,
      email_verified: true,
      name: account.name,
      groups: account.groups,
    };
    if (pending.scenario === "expired") claims.iat = now - 7200;
    if (pending.scenario === "alg_none") return `${b64url({ alg: "none", typ: "JWT" })}.${b64url(claims)}.`;
    if (pending.scenario === "hs256") {
      // Signed with the client secret as an HMAC key: the classic key-confusion forgery.
      return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid }).sign(new TextEncoder().encode(OIDC_CLIENT.clientSecret));
    }
    if (pending.scenario === "rotated_key") {
      if (!published.includes(rotatedJwk)) published.push(rotatedJwk);
      return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: rotatedJwk.kid, typ: "JWT" }).sign(rotated.privateKey);
    }
    if (pending.scenario === "unknown_kid") return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid: "no-such-key", typ: "JWT" }).sign(other.privateKey);
    const key = pending.scenario === "forged_signature" ? other.privateKey : privateKey;
    return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid, typ: "JWT" }).sign(key);
  }

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(body));
    };
    const body = async () => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      return new URLSearchParams(Buffer.concat(chunks).toString());
    };
    try {
      switch (url.pathname) {
        case "/.well-known/openid-configuration":
          return json(200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            userinfo_endpoint: `${issuer}/userinfo`,
            response_types_supported: ["code"],
            subject_types_supported: ["public"],
            // Advertises `none` and HS256 on purpose: the relying party must refuse them anyway.
            id_token_signing_alg_values_supported: ["RS256", "HS256", "none"],
            token_endpoint_auth_methods_supported: ["client_secret_basic"],
            code_challenge_methods_supported: ["S256"],
          });
        case "/private-endpoints/.well-known/openid-configuration":
          return json(200, {
            issuer: `${issuer}/private-endpoints`,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: "http://169.254.169.254/latest/meta-data/",
            response_types_supported: ["code"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
          });
        case "/html-page/.well-known/openid-configuration":
          res.writeHead(200, { "Content-Type": "text/html" });
          return res.end("<!doctype html><title>Sign in</title><p>Not a discovery document.</p>");
        case "/jwks":
          jwksHits++;
          return json(200, { keys: published });
        case "/jwks-hits":
          return json(200, { hits: jwksHits });
        case "/authorize": {
          const scenario = (url.searchParams.get("scenario") ?? "good") as FakeScenario;
          const code = randomBytes(16).toString("hex");
          codes.set(code, { scenario, nonce: url.searchParams.get("nonce") ?? "", account: url.searchParams.get("login") ?? "ivy" });
          const back = new URL(url.searchParams.get("redirect_uri")!);
          back.searchParams.set("code", code);
          back.searchParams.set("state", url.searchParams.get("state") ?? "");
          res.writeHead(302, { Location: back.toString() });
          return res.end();
        }
        case "/token": {
          const code = (await body()).get("code") ?? "";
          const pending = codes.get(code);
          codes.delete(code);
          if (!pending) return json(400, { error: "invalid_grant", error_description: "unknown or used code" });
          let token: string;
          if (pending.scenario === "replayed_token" && lastGood) token = lastGood;
          else token = await idToken(pending);
          if (pending.scenario === "good") lastGood = token;
          return json(200, { access_token: `at-${pending.account}`, token_type: "Bearer", expires_in: 300, id_token: token });
        }
        case "/userinfo": {
          const account = (req.headers.authorization ?? "").replace(/^Bearer at-/, "");
          const found = OIDC_ACCOUNTS[account];
          if (!found) return json(401, { error: "invalid_token" });
          return json(200, { sub: account, email: found.email, email_verified: true, groups: found.groups });
        }
        default:
          return json(404, { error: "not_found" });
      }
    } catch (error) {
      json(500, { error: "server_error", error_description: String(error) });
    }
  });
  issuer = await listen(server);
  return { issuer, close: () => close(server) };
}
