import { describe, expect, it } from "vitest";
import { JWKS_DEFAULT_TTL_S, JWKS_MAX_TTL_S, JWKS_MIN_TTL_S, jwksTtlSeconds } from "../../worker/src/lib/jwks-cache";
import { classifyHost, outboundRefusal } from "../../worker/src/lib/outbound";

/** The host as the URL parser leaves it, which is what the worker checks. */
const hostOf = (url: string) => new URL(url).hostname;

describe("which addresses the worker fetches from (worker/src/lib/outbound.ts)", () => {
  it("classifies loopback, private, link-local and reserved IP literals, in every spelling the URL parser accepts", () => {
    const loopback = ["http://localhost", "http://LOCALHOST.", "http://idp.localhost", "http://127.0.0.1", "http://127.1.2.3", "http://0x7f.1", "http://2130706433", "http://[::1]", "http://[::ffff:127.0.0.1]", "http://[0:0:0:0:0:ffff:7f00:1]"];
    const privateOnes = [
      "https://0.0.0.0", "https://0", "https://10.0.0.1", "https://10.255.255.255", "https://172.16.0.1", "https://172.31.255.255", "https://192.168.0.1",
      "https://169.254.169.254", "https://0xa9fea9fe", "https://100.64.0.1", "https://192.0.0.8", "https://198.18.0.1", "https://224.0.0.1", "https://255.255.255.255",
      "https://[::]", "https://[fc00::1]", "https://[fdff:ffff::1]", "https://[fe80::1]", "https://[febf::1]", "https://[fec0::1]", "https://[ff02::1]",
      "https://[::ffff:10.0.0.1]", "https://[::ffff:169.254.169.254]", "https://[::10.0.0.1]", "https://[64:ff9b::a00:1]", "https://[2001:db8::1]",
    ];
    const publicOnes = ["https://idp.example.org", "https://8.8.8.8", "https://172.32.0.1", "https://172.15.255.255", "https://192.169.0.1", "https://100.128.0.1", "https://[2606:4700::1111]", "https://[::ffff:8.8.8.8]", "https://localhost.example.org"];
    for (const url of loopback) expect(classifyHost(hostOf(url)), url).toBe("loopback");
    for (const url of privateOnes) expect(classifyHost(hostOf(url)), url).toBe("private");
    for (const url of publicOnes) expect(classifyHost(hostOf(url)), url).toBe("public");
  });

  it("refuses loopback unless the development setting allows it, and private addresses always", () => {
    expect(outboundRefusal("http://127.0.0.1:9000/.well-known/openid-configuration", { allowLoopback: false })).toMatch(/loopback/);
    expect(outboundRefusal("http://localhost:9000/jwks", { allowLoopback: false })).toMatch(/loopback/);
    expect(outboundRefusal("http://127.0.0.1:9000/jwks", { allowLoopback: true })).toBeNull();
    expect(outboundRefusal("https://10.0.0.1/jwks", { allowLoopback: true })).toMatch(/private/);
    expect(outboundRefusal("https://[::ffff:7f00:1]/jwks", { allowLoopback: false })).toMatch(/loopback/);
    expect(outboundRefusal("https://idp.example.org/jwks", { allowLoopback: false })).toBeNull();
    expect(outboundRefusal("http://idp.example.org/jwks", { allowLoopback: true })).toMatch(/http/);
    expect(outboundRefusal("file:///etc/passwd", { allowLoopback: true })).toMatch(/file:/);
    expect(outboundRefusal("not a url", { allowLoopback: true })).toMatch(/not a URL/);
  });
});

describe("how long the JWKS is cached (worker/src/lib/jwks-cache.ts)", () => {
  const ttl = (headers: Record<string, string>) => jwksTtlSeconds(new Headers(headers), Date.parse("2026-01-01T00:00:00Z"));
  it("honours max-age (less Age) and Expires, within a minute and a day", () => {
    expect(ttl({ "Cache-Control": "public, max-age=3600" })).toBe(3600);
    expect(ttl({ "Cache-Control": "max-age=3600", Age: "600" })).toBe(3000);
    expect(ttl({ "Cache-Control": "max-age=5" })).toBe(JWKS_MIN_TTL_S);
    expect(ttl({ "Cache-Control": "max-age=31536000" })).toBe(JWKS_MAX_TTL_S);
    expect(ttl({ "Cache-Control": "no-store" })).toBe(JWKS_MIN_TTL_S);
    expect(ttl({ "Cache-Control": "no-cache, max-age=3600" })).toBe(JWKS_MIN_TTL_S);
    expect(ttl({ Expires: "Thu, 01 Jan 2026 02:00:00 GMT", Date: "Thu, 01 Jan 2026 00:00:00 GMT" })).toBe(7200);
    expect(ttl({})).toBe(JWKS_DEFAULT_TTL_S);
  });
});
