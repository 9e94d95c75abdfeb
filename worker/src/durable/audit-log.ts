import { DurableObject } from "cloudflare:workers";
import type { AuditEvent, AuditEventInput } from "../lib/audit-chain";
import { chainEvent, GENESIS_HASH } from "../lib/audit-chain";

interface EventRow {
  seq: number;
  event: string;
  hash: string;
  [column: string]: SqlStorageValue;
}

/**
 * One per organisation: the single writer of its audit trail. A Durable Object handles one
 * call at a time, so every event gets the next sequence number and the previous event's
 * hash with no race, and the chain has one order.
 */
export class AuditLog extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(`CREATE TABLE IF NOT EXISTS events (
      seq    INTEGER PRIMARY KEY,
      event  TEXT NOT NULL,
      hash   TEXT NOT NULL
    )`);
  }

  /** Appends one event to the chain and returns it as stored. */
  async append(input: AuditEventInput): Promise<AuditEvent> {
    const head = this.ctx.storage.sql
      .exec<EventRow>("SELECT seq, event, hash FROM events ORDER BY seq DESC LIMIT 1")
      .toArray()[0];
    const event = await chainEvent(input, {
      seq: head ? head.seq + 1 : 1,
      prevHash: head ? head.hash : GENESIS_HASH,
      at: new Date().toISOString(),
    });
    this.ctx.storage.sql.exec("INSERT INTO events (seq, event, hash) VALUES (?, ?, ?)", event.seq, JSON.stringify(event), event.hash);
    return event;
  }

  /** Events in chain order, from `afterSeq` (exclusive), at most `limit`. */
  async list(afterSeq = 0, limit = 1000): Promise<AuditEvent[]> {
    return this.ctx.storage.sql
      .exec<EventRow>("SELECT seq, event, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?", afterSeq, limit)
      .toArray()
      .map((row) => JSON.parse(row.event) as AuditEvent);
  }
}
