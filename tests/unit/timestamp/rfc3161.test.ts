import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readTimestampReply, responseToToken, timestampRequest, tokenToResponse, verifyTimestampToken } from "../../../shared/timestamp/rfc3161";
import { startTsa, type RunningTsa } from "../../support/tsa";

let tsa: RunningTsa;
let other: RunningTsa;
beforeAll(async () => {
  [tsa, other] = await Promise.all([startTsa(), startTsa()]);
}, 60_000);
afterAll(async () => {
  await tsa?.close();
  await other?.close();
});

async function ask(url: string, der: Uint8Array): Promise<Uint8Array> {
  const response = await fetch(url, { method: "POST", headers: { "Content-Type": "application/timestamp-query" }, body: der as Uint8Array<ArrayBuffer> });
  return new Uint8Array(await response.arrayBuffer());
}

describe("RFC 3161 against a real TSA (openssl ts -reply)", () => {
  const data = crypto.getRandomValues(new Uint8Array(132));

  it("gets a token over SHA-512 of the data, with our nonce, chained to the TSA's CA; openssl ts -verify agrees", async () => {
    const request = await timestampRequest(data);
    const { token, info } = await readTimestampReply(await ask(`${tsa.url}/unit`, request.der), data, request.nonce, tsa.caPem);
    expect(info.chainVerified).toBe(true);
    expect(info.tsaName).toBe("O=Custody tests, CN=Custody Test TSA");
    expect(Math.abs(Date.parse(info.genTime) - Date.now())).toBeLessThan(60_000);
    const dir = mkdtempSync(join(tmpdir(), "custody-ts-"));
    try {
      writeFileSync(join(dir, "data.bin"), data);
      writeFileSync(join(dir, "token.tsr"), tokenToResponse(token));
      writeFileSync(join(dir, "ca.pem"), tsa.caPem);
      const out = execFileSync("openssl", ["ts", "-verify", "-data", "data.bin", "-in", "token.tsr", "-CAfile", "ca.pem"], { cwd: dir, encoding: "utf8" });
      expect(out.trim()).toBe("Verification: OK");
      const text = execFileSync("openssl", ["ts", "-reply", "-in", "token.tsr", "-text"], { cwd: dir, encoding: "utf8" });
      expect(text).toContain("Hash Algorithm: sha512");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(responseToToken(tokenToResponse(token))).toEqual(token);
  });

  it("refuses a token over other data, another CA, a flipped byte, garbage, a rejection and a wrong nonce", async () => {
    const request = await timestampRequest(data);
    const reply = await ask(`${tsa.url}/unit`, request.der);
    const { token } = await readTimestampReply(reply, data, request.nonce);
    await expect(verifyTimestampToken(token, crypto.getRandomValues(new Uint8Array(132)))).rejects.toMatchObject({ what: "imprint" });
    await expect(verifyTimestampToken(token, data, { trustedPem: other.caPem })).rejects.toMatchObject({ what: "chain" });
    await expect(readTimestampReply(reply, data, "0102030405060708")).rejects.toMatchObject({ what: "nonce" });
    await expect(readTimestampReply(crypto.getRandomValues(new Uint8Array(64)), data, request.nonce)).rejects.toMatchObject({ what: "reply" });
    await expect(readTimestampReply(Uint8Array.from([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]), data, request.nonce)).rejects.toMatchObject({ what: "status" });
    let accepted = 0;
    for (let i = 0; i < token.length; i += 1) {
      const bad = token.slice();
      bad[i]! ^= 0x01;
      try {
        await verifyTimestampToken(bad, data, { trustedPem: tsa.caPem });
        accepted++;
      } catch (error) {
        expect((error as Error).name).toBe("TimestampError");
      }
    }
    expect(accepted).toBe(0);
  }, 60_000);
});
