/**
 * The site configuration file (docs/agent.md, "Configuration"): downloaded by an administrator
 * (Admin → Sites), completed at the site with the archive folder and the cameras. Relative
 * paths are taken from the file's own folder.
 */
import { z } from "zod";
import { AgentCamera, MAX_CONCURRENT_EXPORTS } from "../shared/api/video.ts";
import { dirname, isAbsolute, readText, resolve } from "./platform.ts";

const ConfigFile = z.object({
  type: z.literal("custody-site-config"),
  v: z.literal(1),
  server: z.url({ protocol: /^https?$/ }),
  siteId: z.string().regex(/^[0-9a-f]{32}$/),
  siteName: z.string().optional(),
  enrolmentToken: z.string().optional(),
  enrolmentExpiresAt: z.string().optional(),
  archive: z.string().min(1),
  dataDir: z.string().min(1),
  cameras: z.array(AgentCamera).max(500),
  /** ffmpeg and ffprobe to run (a name on PATH or a path). */
  ffmpeg: z.string().default("ffmpeg"),
  ffprobe: z.string().default("ffprobe"),
  /** Exports at once (at most 5). */
  maxExports: z.number().int().min(1).max(MAX_CONCURRENT_EXPORTS).default(MAX_CONCURRENT_EXPORTS),
  /** Seconds between polls while the live connection is down (and a safety poll every ten times that while it is up). */
  pollSeconds: z.number().min(1).max(3600).default(30),
});

export interface AgentConfig {
  server: string;
  siteId: string;
  siteName: string;
  enrolmentToken: string | null;
  archive: string;
  dataDir: string;
  cameras: z.output<typeof AgentCamera>[];
  ffmpeg: string;
  ffprobe: string;
  maxExports: number;
  pollSeconds: number;
}

/** Reads and checks the configuration file; throws an Error that says what to fix. */
export async function loadConfig(path: string): Promise<AgentConfig> {
  let json: unknown;
  try {
    json = JSON.parse(await readText(path));
  } catch (err) {
    throw new Error(`Cannot read the configuration file ${path}: ${err instanceof Error ? err.message : err}`);
  }
  const parsed = ConfigFile.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.join(".") || "(file)"}: ${i.message}`).join("\n");
    throw new Error(`The configuration file ${path} is not valid:\n${issues}`);
  }
  const c = parsed.data;
  const archiveIds = new Set(c.cameras.map((cam) => cam.archiveId));
  if (archiveIds.size !== c.cameras.length) throw new Error(`The configuration file ${path} lists a camera archiveId twice.`);
  const base = dirname(resolve(path));
  const local = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  return {
    server: c.server.replace(/\/+$/, ""),
    siteId: c.siteId,
    siteName: c.siteName ?? c.siteId,
    enrolmentToken: c.enrolmentToken ?? null,
    archive: local(c.archive),
    dataDir: local(c.dataDir),
    cameras: c.cameras.map((cam) => AgentCamera.parse(cam)),
    ffmpeg: c.ffmpeg,
    ffprobe: c.ffprobe,
    maxExports: c.maxExports,
    pollSeconds: c.pollSeconds,
  };
}
