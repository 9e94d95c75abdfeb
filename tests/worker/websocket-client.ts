/** The client's end of a WebSocket in the API tests, whichever runtime's WebSocket it wraps. */
export interface TestWebSocket {
  /** Every message received so far, in order. */
  readonly messages: string[];
  /** Resolves with all messages once `count` of them have arrived; rejects if the socket closes first. */
  received(count: number): Promise<string[]>;
  /** Resolves with the close code and reason once the socket is closed. */
  readonly closed: Promise<{ code: number; reason: string }>;
  close(code?: number, reason?: string): void;
}

/** Wraps `socket` (before its first message can arrive: before `accept()` in workerd, at once in Node). */
export function testWebSocket(socket: WebSocket): TestWebSocket {
  const messages: string[] = [];
  const waiting: { count: number; done: (messages: string[]) => void; fail: (err: Error) => void }[] = [];
  let closedWith: { code: number; reason: string } | null = null;
  let onClosed!: (value: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((done) => (onClosed = done));
  socket.addEventListener("message", (event) => {
    messages.push(typeof event.data === "string" ? event.data : new TextDecoder().decode(event.data as ArrayBuffer));
    for (const waiter of waiting.filter((w) => messages.length >= w.count)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.done([...messages]);
    }
  });
  socket.addEventListener("close", (event) => {
    closedWith = { code: event.code, reason: event.reason };
    for (const waiter of waiting.splice(0)) waiter.fail(new Error(`the WebSocket closed (${event.code} ${event.reason}) after ${messages.length} of ${waiter.count} messages`));
    onClosed(closedWith);
  });
  return {
    messages,
    received(count) {
      if (messages.length >= count) return Promise.resolve([...messages]);
      if (closedWith) return Promise.reject(new Error(`the WebSocket is closed (${closedWith.code}) after ${messages.length} of ${count} messages`));
      return new Promise((done, fail) => waiting.push({ count, done, fail }));
    },
    closed,
    close: (code, reason) => socket.close(code, reason),
  };
}
