/**
 * Cron Triggers on Deno: the worker's `scheduled` handler run at the times wrangler.toml's
 * `[triggers] crons` give, as Cloudflare runs it (the retention job, docs/retention.md). Only the
 * daily form "M H * * *" (UTC) is used there, and only that is understood here; anything else is
 * refused at start rather than silently never run. A run the server was down for is not made up
 * at start: the job catches up by itself at its next run (everything past its time is done then).
 */

/** A daily cron's minute and hour (UTC). */
export function parseDailyCron(cron: string): { minute: number; hour: number } {
  const match = /^(\d{1,2}) (\d{1,2}) \* \* \*$/.exec(cron.trim());
  const minute = Number(match?.[1]);
  const hour = Number(match?.[2]);
  if (!match || minute > 59 || hour > 23) throw new Error(`wrangler.toml: the Deno host runs only daily Cron Triggers ("M H * * *"), not "${cron}"`);
  return { minute, hour };
}

/** The first time at or after `from` (exclusive) that the daily cron fires. */
export function nextRun(cron: string, from: Date): Date {
  const { minute, hour } = parseDailyCron(cron);
  const next = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate(), hour, minute));
  if (next.getTime() <= from.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next;
}

/** Runs `run(cron, scheduledTime)` at each cron's times until the returned stop is called. */
export function scheduleCrons(crons: string[], run: (cron: string, scheduledTime: number) => Promise<void>): () => void {
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  let stopped = false;
  const arm = (cron: string) => {
    if (stopped) return;
    const at = nextRun(cron, new Date());
    // Timers are capped at about 24.8 days; a day is well within.
    timers.set(cron, setTimeout(() => {
      run(cron, at.getTime())
        .catch((err: unknown) => console.error(`scheduled (${cron}) failed:`, err))
        .finally(() => arm(cron));
    }, Math.max(0, at.getTime() - Date.now())));
  };
  for (const cron of crons) {
    parseDailyCron(cron);
    arm(cron);
  }
  return () => {
    stopped = true;
    for (const timer of timers.values()) clearTimeout(timer);
  };
}
