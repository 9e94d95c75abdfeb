/**
 * A real RFC 3161 time-stamping authority for the tests: OpenSSL's own TSA (`openssl ts -reply`)
 * behind a small HTTP wrapper, on 127.0.0.1. At start it makes a throw-away CA and a TSA
 * certificate issued by it (extendedKeyUsage critical timeStamping), with the `openssl` program.
 *
 * Each URL path is its own TSA "endpoint" with its own behaviour, so test files running side by
 * side never disturb each other:
 *   POST /<name>                    the TSA, behaving as the endpoint's mode says (default "ok")
 *   PUT  /control/<name>            body "ok" | "garbage" | "down" | "reject": set that endpoint's mode
 * Modes: ok (a real reply from `openssl ts -reply`), garbage (200 with random bytes), down
 * (503, no reply), reject (a well-formed TimeStampResp with status "rejection").
 */
import { execFileSync, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export type TsaMode = "ok" | "garbage" | "down" | "reject";

export interface RunningTsa {
  /** http://127.0.0.1:port (append a path to name an endpoint). */
  url: string;
  /** PEM of the CA that issued the TSA certificate (what tokens are checked against). */
  caPem: string;
  /** PEM of the TSA's own certificate. */
  tsaCertPem: string;
  /** Folder with ca.pem, tsa.pem (for `openssl ts -verify` in tests). */
  dir: string;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Makes the CA, the TSA key and certificate, and the `openssl ts` configuration in `dir`. */
function makeAuthority(dir: string): void {
  writeFileSync(join(dir, "tsa.ext"), ["basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature", "extendedKeyUsage=critical,timeStamping", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"].join("\n"));
  openssl(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-subj", "/O=Custody tests/CN=Custody Test TSA Root", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr", "-subj", "/O=Custody tests/CN=Custody Test TSA"], dir);
  openssl(["x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "tsa.pem", "-days", "3650", "-extfile", "tsa.ext"], dir);
  writeFileSync(join(dir, "serial"), "01\n");
  writeFileSync(
    join(dir, "tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = tsa_config",
      "[ tsa_config ]",
      `dir = ${dir}`,
      "serial = $dir/serial",
      "crypto_device = builtin",
      "signer_cert = $dir/tsa.pem",
      "certs = $dir/ca.pem",
      "signer_key = $dir/tsa.key",
      "signer_digest = sha256",
      "default_policy = 1.3.6.1.4.1.55555.1.1",
      "digests = sha256, sha384, sha512",
      "accuracy = secs:1",
      "ordering = no",
      "tsa_name = yes",
      "ess_cert_id_chain = no",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );
}

async function body(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A TimeStampResp with status rejection (2) and no token: SEQUENCE { SEQUENCE { INTEGER 2 } }. */
const REJECTION = Buffer.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]);

/** Starts the TSA on a free port. */
export async function startTsa(): Promise<RunningTsa> {
  const dir = mkdtempSync(join(tmpdir(), "custody-tsa-"));
  makeAuthority(dir);
  const modes = new Map<string, TsaMode>();
  // `openssl ts -reply` increments the serial file: one reply at a time.
  let queue: Promise<unknown> = Promise.resolve();
  const reply = (query: Buffer): Promise<Buffer> => {
    const task = queue.then(async () => {
      const id = randomBytes(8).toString("hex");
      const queryFile = join(dir, `${id}.tsq`);
      const replyFile = join(dir, `${id}.tsr`);
      writeFileSync(queryFile, query);
      try {
        await run("openssl", ["ts", "-reply", "-config", join(dir, "tsa.cnf"), "-queryfile", queryFile, "-out", replyFile], { cwd: dir });
        return readFileSync(replyFile);
      } finally {
        rmSync(queryFile, { force: true });
        rmSync(replyFile, { force: true });
      }
    });
    queue = task.catch(() => undefined);
    return task;
  };

  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      const control = /^\/control\/(.+)$/.exec(path);
      if (control && req.method === "PUT") {
        const mode = (await body(req)).toString("utf8").trim() as TsaMode;
        if (!["ok", "garbage", "down", "reject"].includes(mode)) return void res.writeHead(400).end("unknown mode");
        modes.set(decodeURIComponent(control[1]!), mode);
        return void res.writeHead(204).end();
      }
      if (req.method !== "POST") return void res.writeHead(405).end();
      const query = await body(req);
      const mode = modes.get(decodeURIComponent(path.slice(1))) ?? "ok";
      if (mode === "down") return void res.writeHead(503, { "Content-Type": "text/plain" }).end("TSA down for the test");
      if (req.headers["content-type"] !== "application/timestamp-query") return void res.writeHead(415).end("expected application/timestamp-query");
      const answer = mode === "garbage" ? randomBytes(200) : mode === "reject" ? REJECTION : await reply(query);
      res.writeHead(200, { "Content-Type": "application/timestamp-reply", "Content-Length": answer.length }).end(answer);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "Content-Type": "text/plain" });
      res.end(String(error));
    });
  });
  const url = await new Promise<string>((done) => server.listen(0, "127.0.0.1", () => done(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
  return {
    url,
    dir,
    caPem: readFileSync(join(dir, "ca.pem"), "utf8"),
    tsaCertPem: readFileSync(join(dir, "tsa.pem"), "utf8"),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
