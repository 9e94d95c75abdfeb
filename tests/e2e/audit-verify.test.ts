import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateRecoveryKeyPair } from "../../shared/crypto";
import { enrolTotpByApi } from "./flows";
import { CustodyServer } from "./harness";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");

/** Runs `npm run audit:verify -- file`; resolves with exit code and output, never throws. */
async function auditVerify(file: string): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("npm", ["run", "--silent", "audit:verify", "--", file], { cwd: root });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe("npm run audit:verify on an export of the real server", () => {
  let server: CustodyServer;
  let lines: string[];
  const dir = mkdtempSync(join(tmpdir(), "custody-audit-"));

  beforeAll(async () => {
    server = await CustodyServer.start();
    const post = (path: string, body: unknown, cookie = "") =>
      fetch(`${server.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json", Origin: server.url, Cookie: cookie }, body: JSON.stringify(body) });
    const setup = await post("/api/setup", {
      organisation: { name: "Northshire Police" },
      admin: { email: "ada@example.org", name: "Ada", password: "correct horse battery staple" },
      recoveryKey: (await generateRecoveryKeyPair()).publicJwk,
    });
    expect(setup.status).toBe(201);
    // MFA is required by default: the new administrator enrols TOTP before anything else.
    const cookie = await enrolTotpByApi(server.url, /custody_session=[^;]+/.exec(setup.headers.get("Set-Cookie") ?? "")![0]);
    for (let i = 0; i < 4; i++) await post("/api/users", { email: `u${i}@example.org`, name: `User ${i}`, role: "investigator" }, cookie);
    await post("/api/auth/sign-in", { email: "ada@example.org", password: "a wrong password" });
    const exported = await fetch(`${server.url}/api/audit/export?format=jsonl`, { headers: { Cookie: cookie } });
    expect(exported.status).toBe(200);
    lines = (await exported.text()).split("\n").filter(Boolean);
  });

  afterAll(async () => {
    await server?.dispose();
  });

  const write = (name: string, content: string[]) => {
    const file = join(dir, name);
    writeFileSync(file, `${content.join("\n")}\n`);
    return file;
  };

  it("exits 0 with a summary on the untouched export", async () => {
    server.attachLogOnFailure();
    const { code, out } = await auditVerify(write("good.jsonl", lines));
    expect(code).toBe(0);
    expect(out).toMatch(/✓ .*good\.jsonl: \d+ events \(events 1 to \d+\), [1-9]\d* signed checkpoint/);
  });

  it("exits 1 naming the first bad line after an edit, a deletion, an insertion or a reordering", async () => {
    const events = lines.map((line, index) => ({ line, index })).filter(({ line }) => line.startsWith('{"type":"event"'));
    const target = events[2]!;
    const edited = [...lines];
    edited[target.index] = target.line.replace('"ip":null', '"ip":"10.0.0.1"').replace(/"action":"[a-z._]+"/, '"action":"user.delete"');
    const deleted = lines.filter((_, i) => i !== target.index);
    const inserted = [...lines.slice(0, target.index), events[1]!.line, ...lines.slice(target.index)];
    const reordered = [...lines];
    [reordered[target.index], reordered[target.index + 1]] = [reordered[target.index + 1]!, reordered[target.index]!];
    for (const [name, content, pattern] of [
      ["edited", edited, new RegExp(`line ${target.index + 1} \\(event \\d+\\): the event's hash does not match`)],
      ["deleted", deleted, /missing events/],
      ["inserted", inserted, /out of order|does not link|missing/],
      ["reordered", reordered, /out of order|does not link|missing/],
    ] as const) {
      const { code, out } = await auditVerify(write(`${name}.jsonl`, [...content]));
      expect(code, `${name}: ${out}`).toBe(1);
      expect(out, name).toMatch(pattern);
    }
  });

  it("exits 2 on a missing file", async () => {
    expect((await auditVerify(join(dir, "nope.jsonl"))).code).toBe(2);
  });
});
