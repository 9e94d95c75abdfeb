/**
 * A small SMTP client (RFC 5321) for sending one message: over `cloudflare:sockets`' connect()
 * (on Workers; on the Deno host deno/cloudflare-sockets.ts gives the same API over Deno.connect),
 * with implicit TLS (port 465), STARTTLS (RFC 3207, required when chosen) or plain (a relay on
 * the host or a local network), AUTH PLAIN (RFC 4616) when a username is set. Every failure is a
 * MailError naming what went wrong (DNS, refused, TLS, auth, the server's reply, a timeout).
 */
import { connect } from "cloudflare:sockets";

export type MailFailure = "dns" | "refused" | "tls" | "auth" | "rejected" | "timeout" | "http" | "config";

export class MailError extends Error {
  constructor(
    readonly kind: MailFailure,
    message: string,
  ) {
    super(message);
  }
}

export interface SmtpOptions {
  host: string;
  port: number;
  security: "tls" | "starttls" | "none";
  username: string | null;
  password: string | null;
  /** The client's name in EHLO. */
  helo: string;
  timeoutMs?: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a socket error's text says about its cause (the runtimes give text, not codes). */
function connectFailure(error: unknown, host: string, port: number): MailError {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (/dns|name.*resol|not known|ENOTFOUND|EAI_|lookup|No address/i.test(text)) return new MailError("dns", `The mail server name ${host} could not be found (DNS). Check the host name.`);
  if (/refused|ECONNREFUSED|connection.*(reset|closed)|unreachable|ECONNRESET/i.test(text)) return new MailError("refused", `${host}:${port} refused the connection. Check the host, the port and that the server accepts connections from here.`);
  if (/tls|ssl|certificate|handshake|secure/i.test(text)) return new MailError("tls", `The TLS connection to ${host}:${port} failed (${text}). Check the security setting (TLS for port 465, STARTTLS for 587) and the server's certificate.`);
  if (/timed? ?out/i.test(text)) return new MailError("timeout", `${host}:${port} did not answer in time.`);
  return new MailError("refused", `Could not connect to ${host}:${port}: ${text}`);
}

class Conversation {
  private buffer = "";
  private reader: ReadableStreamDefaultReader<Uint8Array>;
  private writer: WritableStreamDefaultWriter<Uint8Array>;

  constructor(
    private socket: Socket,
    private readonly timeoutMs: number,
  ) {
    this.reader = socket.readable.getReader();
    this.writer = socket.writable.getWriter();
  }

  private async withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    try {
      return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new MailError("timeout", `The mail server did not answer in time (${what}).`)), this.timeoutMs)))]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** The next reply: its code and text (multi-line replies joined). */
  async reply(what: string): Promise<{ code: number; text: string }> {
    const lines: string[] = [];
    for (;;) {
      let end = this.buffer.indexOf("\r\n");
      while (end < 0) {
        const { value, done } = await this.withTimeout(this.reader.read(), what);
        if (done) throw new MailError("refused", `The mail server closed the connection (${what}).`);
        this.buffer += decoder.decode(value, { stream: true });
        if (this.buffer.length > 64 * 1024) throw new MailError("rejected", "The mail server's reply is too long.");
        end = this.buffer.indexOf("\r\n");
      }
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      lines.push(line.slice(4));
      if (!/^\d{3}[ -]/.test(line) && !/^\d{3}$/.test(line)) throw new MailError("rejected", `Not an SMTP server (${what}): ${line.slice(0, 80)}`);
      if (line[3] !== "-") return { code: Number(line.slice(0, 3)), text: lines.join(" ") };
    }
  }

  async send(line: string): Promise<void> {
    await this.withTimeout(this.writer.write(encoder.encode(`${line}\r\n`)), "sending");
  }

  async expect(command: string | null, codes: number[], what: string, kind: MailFailure = "rejected"): Promise<{ code: number; text: string }> {
    if (command !== null) await this.send(command);
    const reply = await this.reply(what);
    if (!codes.includes(reply.code)) throw new MailError(kind, `The mail server refused ${what}: ${reply.code} ${reply.text}`);
    return reply;
  }

  /** Upgrades to TLS (after STARTTLS was accepted). */
  upgrade(): void {
    this.reader.releaseLock();
    this.writer.releaseLock();
    this.socket = this.socket.startTls();
    this.reader = this.socket.readable.getReader();
    this.writer = this.socket.writable.getWriter();
    this.buffer = "";
  }

  async close(): Promise<void> {
    await this.socket.close().catch(() => undefined);
  }
}

/** Base64 of UTF-8 text. */
function base64(text: string): string {
  let binary = "";
  for (const byte of encoder.encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Sends `message` (a complete RFC 5322 message, CRLF line ends) from `from` to `to`. */
export async function sendSmtp(options: SmtpOptions, from: string, to: string, message: string): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  let socket: Socket;
  try {
    socket = connect({ hostname: options.host, port: options.port }, { secureTransport: options.security === "tls" ? "on" : options.security === "starttls" ? "starttls" : "off", allowHalfOpen: false });
    await Promise.race([socket.opened, new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), timeoutMs))]);
  } catch (error) {
    throw connectFailure(error, options.host, options.port);
  }
  const smtp = new Conversation(socket, timeoutMs);
  try {
    try {
      await smtp.expect(null, [220], "the greeting");
    } catch (error) {
      if (options.security === "tls" && error instanceof MailError && error.kind !== "timeout") throw new MailError("tls", `The TLS connection to ${options.host}:${options.port} failed: ${error.message}`);
      throw error;
    }
    let ehlo = await smtp.expect(`EHLO ${options.helo}`, [250], "EHLO");
    if (options.security === "starttls") {
      if (!/\bSTARTTLS\b/i.test(ehlo.text)) throw new MailError("tls", `${options.host} does not offer STARTTLS. Choose TLS (port 465) or no encryption if the server is on a private network.`);
      await smtp.expect("STARTTLS", [220], "STARTTLS", "tls");
      try {
        smtp.upgrade();
        ehlo = await smtp.expect(`EHLO ${options.helo}`, [250], "EHLO after STARTTLS");
      } catch (error) {
        throw new MailError("tls", `The TLS handshake with ${options.host} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    if (options.username) {
      await smtp.expect(`AUTH PLAIN ${base64(`\0${options.username}\0${options.password ?? ""}`)}`, [235], "the username and password", "auth");
    }
    await smtp.expect(`MAIL FROM:<${from}>`, [250], `the sender ${from}`);
    await smtp.expect(`RCPT TO:<${to}>`, [250, 251], `the recipient ${to}`);
    await smtp.expect("DATA", [354], "the message");
    // Dot-stuffing (RFC 5321 §4.5.2): a line starting with "." gets another.
    const body = message.split("\r\n").map((line) => (line.startsWith(".") ? `.${line}` : line)).join("\r\n");
    await smtp.send(`${body}\r\n.`);
    await smtp.expect(null, [250], "the message");
    await smtp.send("QUIT").catch(() => undefined);
  } finally {
    await smtp.close();
  }
}

/** An RFC 2047 encoded word for a header value that is not plain ASCII. */
function headerText(text: string): string {
  const clean = text.replace(/[\r\n]+/g, " ");
  return /^[\x20-\x7e]*$/.test(clean) ? clean : `=?UTF-8?B?${base64(clean)}?=`;
}

/** A display name for From: an encoded word when not ASCII, a quoted string when it has specials (RFC 5322 §3.2.3). */
function displayName(name: string): string {
  const clean = name.replace(/[\r\n]+/g, " ");
  if (!/^[\x20-\x7e]*$/.test(clean)) return headerText(clean);
  return /[()<>\[\]:;@\\,."]/.test(clean) ? `"${clean.replace(/["\\]/g, "\\$&")}"` : clean;
}

/** Base64 wrapped at 76 columns (RFC 2045). */
function bodyBase64(text: string): string {
  return (base64(text).match(/.{1,76}/g) ?? [""]).join("\r\n");
}

/** A complete message: plain text, or text and HTML as multipart/alternative; UTF-8, base64 bodies. */
export function buildMessage(input: { from: string; fromName: string; to: string; subject: string; text: string; html?: string; date: Date; messageId: string }): string {
  const headers = [
    `From: ${displayName(input.fromName)} <${input.from}>`,
    `To: <${input.to}>`,
    `Subject: ${headerText(input.subject)}`,
    `Date: ${input.date.toUTCString().replace("GMT", "+0000")}`,
    `Message-ID: <${input.messageId}>`,
    "MIME-Version: 1.0",
    "Auto-Submitted: auto-generated",
  ];
  const part = (type: string, content: string) => [`Content-Type: ${type}; charset=utf-8`, "Content-Transfer-Encoding: base64", "", bodyBase64(content)].join("\r\n");
  if (!input.html) return [...headers, part("text/plain", input.text)].join("\r\n");
  const boundary = `custody-${input.messageId.replace(/[^A-Za-z0-9]/g, "")}`;
  return [...headers, `Content-Type: multipart/alternative; boundary="${boundary}"`, "", `--${boundary}`, part("text/plain", input.text), `--${boundary}`, part("text/html", input.html), `--${boundary}--`, ""].join("\r\n");
}
