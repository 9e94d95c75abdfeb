/**
 * Who the Deno server believes about the client. Reached directly, it takes the client's
 * address from the connection and ignores the forwarding headers any client can send, so
 * nobody can write a false address into the audit trail. Behind a trusted reverse proxy
 * (CUSTODY_TRUST_PROXY=1), it takes the address the proxy saw, and with CUSTODY_PUBLIC_URL the
 * public origin: cookies are Secure, and a request from any other origin is refused.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { objectFile, objectIdFromName } from "../../deno/durable-objects";
import type { AuditEvent } from "../../shared/audit/chain";
import { DenoServer } from "../support/deno-server";
import { ADMIN, recoveryPublicKey } from "../worker/helpers";

let server: DenoServer | null = null;

afterEach(async () => {
  await server?.stop();
  if (server) rmSync(server.stateDir, { recursive: true, force: true });
  server = null;
});

/** The failed sign-ins in the organisation's audit chain, read from the server's files. */
function failedSignIns(stateDir: string): AuditEvent[] {
  const d1 = new DatabaseSync(join(stateDir, "d1", "DB.sqlite"));
  const { org_id: orgId } = d1.prepare("SELECT org_id FROM setup WHERE id = 1").get() as { org_id: string };
  d1.close();
  const chain = new DatabaseSync(objectFile(join(stateDir, "do"), "AuditLog", objectIdFromName("AuditLog", orgId)));
  const events = (chain.prepare("SELECT event FROM chain ORDER BY seq").all() as { event: string }[]).map((row) => JSON.parse(row.event) as AuditEvent);
  chain.close();
  return events.filter((e) => e.action === "auth.sign_in" && e.outcome === "failed");
}

async function setUp(origin: string): Promise<void> {
  const response = await fetch(`${server!.url}/api/setup`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: origin },
    body: JSON.stringify({ organisation: { name: "Northshire Police" }, admin: ADMIN, recoveryKey: await recoveryPublicKey() }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

const signIn = (origin: string, headers: Record<string, string>) =>
  fetch(`${server!.url}/api/auth/sign-in`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: origin, ...headers },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });

describe("the client's address and the public origin on the Deno server", () => {
  it("reached directly, records the connection's address whatever headers the client sends", async () => {
    server = new DenoServer(mkdtempSync(join(tmpdir(), "custody-proxy-")));
    await server.start();
    await setUp(server.url);
    const wrong = await fetch(`${server.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: server.url, "CF-Connecting-IP": "203.0.113.9", "X-Real-IP": "203.0.113.10", "X-Forwarded-For": "203.0.113.11" },
      body: JSON.stringify({ email: ADMIN.email, password: "not the password" }),
    });
    expect(wrong.status).toBe(401);
    expect(failedSignIns(server.stateDir).map((e) => e.ip)).toEqual(["127.0.0.1"]);
  });

  it("behind a trusted proxy, records the address the proxy saw and serves the public origin", async () => {
    server = new DenoServer(mkdtempSync(join(tmpdir(), "custody-proxy-")), { CUSTODY_TRUST_PROXY: "1", CUSTODY_PUBLIC_URL: "https://custody.example.org" });
    await server.start();
    const publicOrigin = "https://custody.example.org";
    await setUp(publicOrigin);
    const response = await signIn(publicOrigin, { "X-Forwarded-For": "198.51.100.1, 203.0.113.5", "X-Forwarded-Proto": "https" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Set-Cookie")).toMatch(/; Secure/);
    // A page of another origin cannot act here, not even the server's own internal address.
    expect((await signIn(server.url, {})).status).toBe(403);

    const wrong = await fetch(`${server.url}/api/auth/sign-in`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Origin: publicOrigin, "X-Forwarded-For": "198.51.100.1, 203.0.113.5", "CF-Connecting-IP": "192.0.2.1" },
      body: JSON.stringify({ email: ADMIN.email, password: "not the password" }),
    });
    expect(wrong.status).toBe(401);
    expect(failedSignIns(server.stateDir).map((e) => e.ip)).toEqual(["203.0.113.5"]);
  });
});
