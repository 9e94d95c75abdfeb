import { DurableObject } from "cloudflare:workers";
import { expireDue, type LiveMessage } from "../lib/video";

type Row = Record<string, SqlStorageValue>;

/**
 * One per site (`idFromName(site id)`): the agent's live connection and the site's clock.
 * - The agent keeps a WebSocket open to it (hibernation API: the object sleeps while the socket
 *   stays open); the worker calls `notify()` whenever the site has new work (a request, a
 *   decision), and the object tells the agent at once. The agent polls as a fallback.
 * - It refuses replayed agent requests: every signed request's nonce is recorded here (one
 *   writer per site, so two requests with one nonce cannot both pass) until its signature
 *   could no longer be accepted anyway.
 * - Its alarm expires the site's requests left without a decision (`expireDue`).
 */
export class SiteLive extends DurableObject<Env> {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)");
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    // Answered by the runtime without waking the object: the agent's keep-alive.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", "pong"));
  }

  /** The WebSocket upgrade, already authenticated by the worker (worker/src/routes/agent.ts). */
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") return new Response("Expected a WebSocket upgrade.", { status: 426 });
    const siteId = request.headers.get("X-Custody-Site");
    if (siteId) this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('siteId', ?)", siteId);
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1]);
    this.seen();
    pair[1].send(JSON.stringify({ type: "work" } satisfies LiveMessage));
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  override async webSocketMessage(_ws: WebSocket, _message: string | ArrayBuffer): Promise<void> {
    // The agent only listens; any message from it just counts as a sign of life.
    this.seen();
  }

  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  /** Tells the connected agent (if any) that it has work. Answers how many connections heard it. */
  async notify(message: LiveMessage): Promise<number> {
    let sent = 0;
    for (const ws of this.ctx.getWebSockets()) {
      try {
        ws.send(JSON.stringify(message));
        sent++;
      } catch {
        // a socket closing as we speak: the agent reconnects and polls
      }
    }
    return sent;
  }

  /** Records a signed request's nonce; false if it was seen before (a replay). */
  async useNonce(nonce: string, expiresAt: number): Promise<boolean> {
    const now = Date.now();
    this.sql.exec("DELETE FROM nonces WHERE expires_at < ?", now);
    if (this.sql.exec("SELECT 1 FROM nonces WHERE nonce = ?", nonce).toArray().length > 0) return false;
    this.sql.exec("INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", nonce, expiresAt);
    this.seen();
    return true;
  }

  /** Whether the agent is connected now, and when it was last heard from. */
  async status(): Promise<{ connected: boolean; lastSeenAt: string | null }> {
    const row = this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = 'lastSeenAt'").toArray()[0];
    return { connected: this.ctx.getWebSockets().length > 0, lastSeenAt: row?.value ?? null };
  }

  /** Makes sure the alarm rings by `at` (ISO 8601), when the site's next open request expires. */
  async scheduleExpiry(siteId: string, at: string): Promise<void> {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('siteId', ?)", siteId);
    const when = Date.parse(at);
    const current = await this.ctx.storage.getAlarm();
    if (current === null || when < current) await this.ctx.storage.setAlarm(when);
  }

  override async alarm(): Promise<void> {
    const siteId = this.sql.exec<{ value: string } & Row>("SELECT value FROM meta WHERE key = 'siteId'").toArray()[0]?.value;
    if (!siteId) return;
    const { expired, next } = await expireDue(this.env, siteId);
    if (expired > 0) await this.notify({ type: "work" });
    if (next) await this.ctx.storage.setAlarm(Math.max(Date.parse(next), Date.now() + 1000));
  }

  private seen(): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('lastSeenAt', ?)", new Date().toISOString());
  }
}
