/**
 * The data key for a machine with no `DATA_KEY` set (docs/deploy.md, "The data key"): made once,
 * 32 random bytes in base64, kept in the data folder as `data-key.env` (one line `DATA_KEY=…`,
 * readable by its owner only). The Deno host binds it when the environment has no DATA_KEY, and
 * `npm start` hands the same kind of file to `wrangler dev` (`--env-file`), so both start with no
 * manual step. Node built-ins only: used by the Deno host and by scripts/start.ts under Node.
 */
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export const DATA_KEY_FILE = "data-key.env";

/** The key in `dir`/data-key.env, made first if there is none; answers its path and the key. */
export function localDataKey(dir: string): { path: string; key: string } {
  const path = join(dir, DATA_KEY_FILE);
  try {
    // "wx": only one process makes it; a second one finds it and reads it.
    const fd = openSync(path, "wx", 0o600);
    try {
      writeSync(fd, `# Custody's data key: TOTP seeds in the database are sealed with it. Without it they cannot be used.\nDATA_KEY=${randomBytes(32).toString("base64")}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  const match = /^DATA_KEY=(\S+)\s*$/m.exec(readFileSync(path, "utf8"));
  if (!match) throw new Error(`${path} holds no DATA_KEY= line`);
  return { path, key: match[1]! };
}
