/**
 * The system programs `npm test` uses, in one list, checked before anything else runs
 * (`npm test`, `.ci/run`, `npm run system-deps`).
 *
 * Missing ones are installed with apt-get when this runs as root on Debian; anywhere else
 * it stops at once with one line naming the exact command to run. Nothing is fetched from
 * anywhere but Debian's package archive, through the machine's own apt configuration.
 *
 * Flags: --no-install (only check: name what is missing and the command, exit 1).
 */
import { spawnSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export interface Requirement {
  /** What the suite calls it, as printed in messages. */
  name: string;
  /** What it is for, so the message says why it is needed. */
  usedFor: string;
  /** An absolute path to check instead of looking the command up on PATH. */
  path?: string;
  /** Debian packages that provide it (and what it needs to work, such as fonts). */
  debian: string[];
  /** For `python3`: a module that must import (`python3 -c "import <module>"`), such as Debian's python3-cryptography. */
  pythonModule?: string;
}

/** Every system program the test suite runs, and the Debian packages that bring each. */
export function requirements(env: NodeJS.ProcessEnv = process.env): Requirement[] {
  return [
    {
      name: "chromium",
      path: env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      usedFor: "browser tests (tests/e2e, the crypto suite in the browser)",
      debian: ["chromium", "fonts-liberation"],
    },
    { name: "ffmpeg", usedFor: "test videos and the site agent's cuts", debian: ["ffmpeg"] },
    { name: "ffprobe", usedFor: "checking the agent's cuts", debian: ["ffmpeg"] },
    { name: "oathtool", usedFor: "cross-checking TOTP codes", debian: ["oathtool"] },
    { name: "openssl", usedFor: "checking court packages with standard tools", debian: ["openssl"] },
    { name: "sha512sum", usedFor: "checking court packages with standard tools", debian: ["coreutils"] },
    {
      // Debian's own interpreter, the one apt-get's python3-cryptography installs into (a python3
      // earlier on PATH, such as pyenv's, may lack the module): the recipe test runs this one.
      name: "python3",
      path: env.PYTHON3_PATH ?? "/usr/bin/python3",
      pythonModule: "cryptography",
      usedFor: "reading ZIP64 packages with Python's zipfile and the docs' Python recipes (python3-cryptography)",
      debian: ["python3", "python3-cryptography"],
    },
    {
      // Debian's python3-cryptography (38) has no Argon2id yet: the key bundle recipe uses argon2-cffi's.
      name: "python3-argon2",
      path: env.PYTHON3_PATH ?? "/usr/bin/python3",
      pythonModule: "argon2",
      usedFor: "the key bundle recipe of docs/evidence-format.md §7.3 (Argon2id, python3-argon2)",
      debian: ["python3-argon2"],
    },
    {
      // The same interpreter with Debian's aiosmtpd: the real SMTP server of the mail tests (tests/support/smtp.ts).
      name: "python3-aiosmtpd",
      path: env.PYTHON3_PATH ?? "/usr/bin/python3",
      pythonModule: "aiosmtpd",
      usedFor: "a real SMTP server for the email tests (python3 -m aiosmtpd)",
      debian: ["python3", "python3-aiosmtpd"],
    },
  ];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The requirement's executable, or undefined when it is not there. */
export function locate(requirement: Requirement, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const usable = (candidate: string) => isExecutable(candidate) && (!requirement.pythonModule || imports(candidate, requirement.pythonModule, env));
  if (requirement.path) return usable(requirement.path) ? requirement.path : undefined;
  for (const dir of (env.PATH ?? "").split(delimiter).filter(Boolean)) {
    const candidate = join(dir, requirement.name);
    if (isExecutable(candidate)) return usable(candidate) ? candidate : undefined;
  }
  return undefined;
}

/** Whether `python` imports `module` (a missing module is as missing as a missing program). */
function imports(python: string, module: string, env: NodeJS.ProcessEnv): boolean {
  return spawnSync(python, ["-c", `import ${module}`], { env, stdio: "ignore" }).status === 0;
}

export function missing(list: Requirement[], env: NodeJS.ProcessEnv = process.env): Requirement[] {
  return list.filter((requirement) => locate(requirement, env) === undefined);
}

/** The Debian packages that bring everything in `absent`, each once, in list order. */
export function packagesFor(absent: Requirement[]): string[] {
  return [...new Set(absent.flatMap((requirement) => requirement.debian))];
}

/** The one line a person reads when the suite cannot install what is missing itself. */
export function missingLine(absent: Requirement[], root: boolean): string {
  const what = absent.map((r) => `${r.name}${r.path ? ` (${r.path})` : ""}${r.pythonModule ? ` with the ${r.pythonModule} module` : ""}`).join(", ");
  const command = `${root ? "" : "sudo "}apt-get update && ${root ? "" : "sudo "}apt-get install -y --no-install-recommends ${packagesFor(absent).join(" ")}`;
  return `Missing system programs the tests need: ${what}. Install them with: ${command}`;
}

function onDebian(env: NodeJS.ProcessEnv): boolean {
  return existsSync("/etc/debian_version") && locate({ name: "apt-get", usedFor: "", debian: [] }, env) !== undefined;
}

function apt(args: string[], env: NodeJS.ProcessEnv): boolean {
  const run = spawnSync("apt-get", args, { env: { ...env, DEBIAN_FRONTEND: "noninteractive" }, stdio: ["ignore", "ignore", "inherit"] });
  return run.status === 0;
}

/** Checks, installs where it may, and returns the process exit code. */
export function ensure(options: { install: boolean; env?: NodeJS.ProcessEnv; log?: (line: string) => void }): number {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => console.error(line));
  const list = requirements(env);
  let absent = missing(list, env);
  if (absent.length === 0) return 0;

  const root = process.getuid?.() === 0;
  if (!options.install || !root || !onDebian(env)) {
    log(missingLine(absent, root));
    return 1;
  }
  const packages = packagesFor(absent);
  log(`Installing Debian packages for the tests: ${packages.join(" ")}`);
  if (!apt(["update", "-qq"], env) || !apt(["install", "-y", "-qq", "--no-install-recommends", ...packages], env)) {
    log(`apt-get could not install ${packages.join(" ")}. ${missingLine(absent, root)}`);
    return 1;
  }
  absent = missing(list, env);
  if (absent.length > 0) {
    log(`Still missing after installing ${packages.join(" ")}: ${missingLine(absent, root)}`);
    return 1;
  }
  return 0;
}

if (import.meta.main) {
  process.exitCode = ensure({ install: !process.argv.includes("--no-install") });
}
