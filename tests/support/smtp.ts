/**
 * A real SMTP server for the tests: Debian's python3-aiosmtpd on 127.0.0.1, writing every message
 * it accepts to a folder, and a small HTTP reader of that folder so tests in workerd (which
 * cannot read files) see the messages too. It offers AUTH PLAIN/LOGIN (over the plain
 * connection, for the tests only) with the one account `custody` / `secret`; mail without AUTH
 * is accepted as well.
 *   GET /messages            every message so far: [{ to: [recipients], raw: "<the message>" }]
 * It is also a stand-in HTTP mail API (the JSON POST docs/deploy.md describes):
 *   POST /http-mail          with "Authorization: Bearer <HTTP_MAIL_TOKEN>": 202, kept; another token: 401
 *   GET /http-mail           the JSON bodies received so far
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const SMTP_USER = "custody";
export const SMTP_PASSWORD = "secret";
export const HTTP_MAIL_TOKEN = "test-mail-token";
const PYTHON = process.env.PYTHON3_PATH ?? "/usr/bin/python3";

const SERVER = `
import os, sys, time, asyncio
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
folder, port = sys.argv[1], int(sys.argv[2])
class Handler:
    async def handle_DATA(self, server, session, envelope):
        name = os.path.join(folder, "%d" % time.time_ns())
        with open(name + ".tmp", "wb") as out:
            out.write(("X-Test-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\\r\\n").encode() + envelope.original_content)
        os.rename(name + ".tmp", name + ".eml")
        return "250 Message accepted"
def authenticator(server, session, envelope, mechanism, data):
    ok = isinstance(data, LoginPassword) and data.login == b"${SMTP_USER}" and data.password == b"${SMTP_PASSWORD}"
    return AuthResult(success=ok, handled=False)
controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False)
controller.start()
print("ready", flush=True)
try:
    sys.stdin.read()
finally:
    controller.stop()
`;

export interface SmtpMessage {
  to: string[];
  raw: string;
}

export interface RunningSmtp {
  host: string;
  port: number;
  /** http://127.0.0.1:port of the message reader. */
  inboxUrl: string;
  messages(): SmtpMessage[];
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function startSmtp(): Promise<RunningSmtp> {
  const dir = mkdtempSync(join(tmpdir(), "custody-smtp-"));
  const port = await freePort();
  const child: ChildProcess = spawn(PYTHON, ["-c", SERVER, dir, String(port)], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aiosmtpd did not start (install Debian's python3-aiosmtpd): ${stderr}`)), 20_000);
    child.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`aiosmtpd exited (${code}): ${stderr}`));
    });
  });
  const messages = (): SmtpMessage[] =>
    readdirSync(dir)
      .filter((n) => n.endsWith(".eml"))
      .sort()
      .map((n) => {
        const text = readFileSync(join(dir, n), "utf8");
        const first = text.indexOf("\r\n");
        return { to: text.slice("X-Test-Envelope-To: ".length, first).split(","), raw: text.slice(first + 2) };
      });
  const apiMail: unknown[] = [];
  const http: Server = createServer((request, response) => {
    if (request.method === "POST" && request.url === "/http-mail") {
      let body = "";
      request.on("data", (d: Buffer) => (body += d.toString()));
      request.on("end", () => {
        if (request.headers.authorization !== `Bearer ${HTTP_MAIL_TOKEN}`) return void response.writeHead(401).end();
        apiMail.push(JSON.parse(body));
        response.writeHead(202).end();
      });
      return;
    }
    if (request.method === "GET" && request.url === "/http-mail") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(apiMail));
      return;
    }
    if (request.method === "GET" && request.url === "/messages") {
      response.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(messages()));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const inboxUrl = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    host: "127.0.0.1",
    port,
    inboxUrl,
    messages,
    async close() {
      child.stdin!.end();
      child.kill();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
