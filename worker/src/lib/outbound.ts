/**
 * Which URLs the worker itself may fetch on an administrator's say-so (the OpenID provider's
 * discovery document, JWKS, token and UserInfo endpoints): never an address inside the network
 * the server runs in (loopback, private, link-local, and the like), so the issuer setting cannot
 * turn the server into a probe of its own network or of a cloud metadata service.
 *
 * The check is on the URL's host as written: IP literals in those ranges (IPv4, and IPv6 including
 * IPv4-mapped forms; the URL parser has already normalised `0x7f.1` or `2130706433` to
 * `127.0.0.1`) and the names `localhost` and `*.localhost`. Workers cannot resolve DNS, so a
 * public name whose DNS answer is a private address is not caught here (docs/security.md).
 */

/** Where a URL points, as far as its host says. */
export type HostClass = "public" | "loopback" | "private";

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The four bytes of a dotted-quad IPv4 address, or null. */
function ipv4Bytes(host: string): number[] | null {
  const match = IPV4.exec(host);
  if (!match) return null;
  const bytes = match.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : null;
}

function classifyIpv4([a, b]: number[]): HostClass {
  if (a === 127) return "loopback";
  if (
    a === 0 || // "this network", 0.0.0.0 reaches the local host on many systems
    a === 10 ||
    (a === 100 && b! >= 64 && b! <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata (169.254.169.254)
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments (192.0.0.0/24) and 192.0.2.0/24 documentation
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a! >= 224 // multicast, reserved, broadcast
  ) {
    return "private";
  }
  return "public";
}

/** The eight 16-bit groups of an IPv6 address (as the URL parser serialises it: hex groups, `::` at most once), or null. */
function ipv6Groups(host: string): number[] | null {
  if (!host.includes(":")) return null;
  const [head, tail, ...rest] = host.split("::");
  if (rest.length > 0) return null;
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => (/^[0-9a-f]{1,4}$/.test(g) ? parseInt(g, 16) : NaN)) : []);
  const left = parse(head);
  const right = parse(tail);
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return null;
  const groups = [...left, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...right];
  return groups.every((g) => Number.isInteger(g)) ? groups : null;
}

function classifyIpv6(groups: number[]): HostClass {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = groups as [number, number, number, number, number, number, number, number];
  const embeddedV4 = [g6 >> 8, g6 & 0xff, g7 >> 8, g7 & 0xff];
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0) {
    if (g5 === 0 && g6 === 0 && g7 === 1) return "loopback"; // ::1
    if (g5 === 0 && g6 === 0 && g7 === 0) return "private"; // ::, the unspecified address
    // ::ffff:a.b.c.d (IPv4-mapped) and ::a.b.c.d (IPv4-compatible, deprecated): the IPv4 address decides.
    if (g5 === 0xffff || g5 === 0) return classifyIpv4(embeddedV4);
  }
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return classifyIpv4(embeddedV4); // NAT64
  if ((g0 & 0xfe00) === 0xfc00) return "private"; // fc00::/7 unique local
  if ((g0 & 0xffc0) === 0xfe80 || (g0 & 0xffc0) === 0xfec0) return "private"; // fe80::/10 link-local, fec0::/10 site-local
  if ((g0 & 0xff00) === 0xff00) return "private"; // multicast
  if (g0 === 0x2001 && g1 === 0x0db8) return "private"; // documentation
  return "public";
}

/** Classifies a URL's host (a hostname, or an IP literal as the URL parser serialises it). */
export function classifyHost(hostname: string): HostClass {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  if (host === "localhost" || host.endsWith(".localhost")) return "loopback";
  const v4 = ipv4Bytes(host);
  if (v4) return classifyIpv4(v4);
  if (host.startsWith("[") && host.endsWith("]")) {
    const groups = ipv6Groups(host.slice(1, -1));
    // An IPv6 literal the parser accepted but this cannot read is refused, not guessed at.
    return groups ? classifyIpv6(groups) : "private";
  }
  return "public";
}

/** Why the worker will not fetch `url` (null: it may). `allowLoopback`: the development setting, for a provider on this machine. */
export function outboundRefusal(url: string, options: { allowLoopback: boolean }): string | null {
  if (!URL.canParse(url)) return "it is not a URL";
  const parsed = new URL(url);
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return `${parsed.protocol} is not fetched`;
  const kind = classifyHost(parsed.hostname);
  if (kind === "private") return `${parsed.hostname} is a private, link-local or reserved address`;
  if (kind === "loopback" && !options.allowLoopback) return `${parsed.hostname} is this server itself (loopback); set OIDC_ALLOW_LOOPBACK=1 only for development and tests`;
  if (parsed.protocol === "http:" && kind !== "loopback") return "plain http is accepted only for a provider on this machine";
  return null;
}
