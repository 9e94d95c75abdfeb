/**
 * WebSockets through the Deno host, as a worker and its Durable Objects use them on Cloudflare
 * (the site agents' live connections need them): a small worker (fixtures/websocket-worker.ts)
 * served by the host, reached by real WebSocket clients.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DenoServer } from "../support/deno-server";

let server: DenoServer;

beforeAll(async () => {
  server = new DenoServer(mkdtempSync(join(tmpdir(), "custody-ws-")), {}, resolve(import.meta.dirname, "fixtures/websocket-main.ts"));
  await server.start();
}, 60_000);

afterAll(async () => {
  await server.stop();
  rmSync(server.stateDir, { recursive: true, force: true });
});

/** A connected client that keeps what it receives. */
async function connect(path: string): Promise<{ socket: WebSocket; received: string[]; next: () => Promise<string>; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(`${server.url.replace("http", "ws")}${path}`);
  const received: string[] = [];
  const waiting: ((message: string) => void)[] = [];
  socket.addEventListener("message", (event) => {
    const message = String(event.data);
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else received.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((done) => socket.addEventListener("close", (event) => done({ code: event.code, reason: event.reason })));
  await new Promise<void>((done, fail) => {
    socket.addEventListener("open", () => done());
    socket.addEventListener("error", () => fail(new Error(`could not connect to ${path}:\n${server.output}`)));
  });
  const next = () => (received.length > 0 ? Promise.resolve(received.shift()!) : new Promise<string>((done) => waiting.push(done)));
  return { socket, received, next, closed };
}

describe("WebSockets on the Deno host", () => {
  it("joins a socket accepted in the worker (accept and listeners) to the client", async () => {
    const echo = await connect("/api/echo");
    echo.socket.send("hello");
    expect(await echo.next()).toBe("echo hello");
    echo.socket.close();
    await echo.closed;
  });

  it("gives a Durable Object the hibernation API: tags, attachments, broadcast, auto-response, close", async () => {
    const ada = await connect("/api/room?name=ada");
    const bob = await connect("/api/room?name=bob");
    ada.socket.send("hi all");
    expect(await ada.next()).toBe("ada: hi all");
    expect(await bob.next()).toBe("ada: hi all");
    bob.socket.send("to ada just you");
    expect(await ada.next()).toBe("bob (to you): just you");
    ada.socket.send("ping");
    expect(await ada.next()).toBe("pong"); // answered without waking the object
    bob.socket.send("bye");
    expect(await bob.next()).toBe("bob: bye");
    expect(await ada.next()).toBe("bob: bye");
    expect(await bob.closed).toEqual({ code: 1000, reason: "bye" });
    // bob's socket is closed: ada's messages reach ada alone now.
    ada.socket.send("anyone?");
    expect(await ada.next()).toBe("ada: anyone?");
    ada.socket.close(4000, "done");
    await ada.closed;
    const left = async () => (await (await fetch(`${server.url}/api/left`)).json()) as string[];
    for (let i = 0; i < 50 && (await left()).length === 0; i++) await new Promise((done) => setTimeout(done, 20));
    expect(await left()).toEqual(["ada 4000 done"]);
    expect(bob.received).toEqual([]);
  });

  it("still answers plain requests as before", async () => {
    const response = await fetch(`${server.url}/api/nothing`);
    expect(response.status).toBe(426);
  });
});
