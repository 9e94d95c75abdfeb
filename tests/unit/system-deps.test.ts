/**
 * scripts/system-deps.ts, the check `npm test` runs first, run as the real script with a PATH
 * made for each case: a missing program is named with the exact command, a present one is
 * left alone, and as root on Debian it asks apt-get for exactly the missing packages (an
 * apt-get on that PATH records what it was asked, so the test installs nothing).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { locate, requirements } from "../../scripts/system-deps";

const script = resolve(import.meta.dirname, "../../scripts/system-deps.ts");
const asRoot = process.getuid?.() === 0;
const onDebian = existsSync("/etc/debian_version");
const dirs: string[] = [];

afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A folder for PATH holding links to the real programs, less `without`, and an apt-get that records its arguments. */
function fakePath(without: string[]): { bin: string; aptLog: string } {
  const bin = mkdtempSync(join(tmpdir(), "custody-deps-"));
  dirs.push(bin);
  for (const requirement of requirements()) {
    if (requirement.path || without.includes(requirement.name)) continue;
    const real = locate(requirement);
    if (!real) throw new Error(`${requirement.name} is not installed here, so this test cannot build its PATH`);
    symlinkSync(real, join(bin, requirement.name));
  }
  const aptLog = join(bin, "apt-get.log");
  writeFileSync(join(bin, "apt-get"), `#!/bin/sh\necho "$*" >> "${aptLog}"\n`);
  chmodSync(join(bin, "apt-get"), 0o755);
  return { bin, aptLog };
}

function check(env: Record<string, string>, args: string[] = []) {
  const run = spawnSync(process.execPath, [script, ...args], { env: { HOME: process.env.HOME ?? "/tmp", ...env }, encoding: "utf8" });
  return { code: run.status, stderr: run.stderr.trim() };
}

const chromium = requirements()[0]!.path!;

describe("npm test's system check", () => {
  it("passes quietly when every program is there, and calls no apt-get", () => {
    const { bin, aptLog } = fakePath([]);
    const result = check({ PATH: bin, CHROMIUM_PATH: chromium });
    expect(result).toEqual({ code: 0, stderr: "" });
    expect(existsSync(aptLog)).toBe(false);
  });

  it("names python3's cryptography module as missing when python3 cannot import it, with Debian's package", () => {
    const { bin } = fakePath(["python3"]);
    // A python3 that runs but has no cryptography module (as a bare python3 install).
    writeFileSync(join(bin, "python3"), `#!/bin/sh\ncase "$2" in *cryptography*) exit 1;; esac\nexit 0\n`);
    chmodSync(join(bin, "python3"), 0o755);
    const result = check({ PATH: bin, CHROMIUM_PATH: chromium, PYTHON3_PATH: join(bin, "python3") }, ["--no-install"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`Missing system programs the tests need: python3 (${join(bin, "python3")}) with the cryptography module.`);
    expect(result.stderr).toMatch(/--no-install-recommends python3 python3-cryptography$/);
  });

  it("names a missing program and the exact command, in one line, when told not to install", () => {
    const { bin, aptLog } = fakePath(["oathtool"]);
    const result = check({ PATH: bin, CHROMIUM_PATH: chromium }, ["--no-install"]);
    expect(result.code).toBe(1);
    expect(result.stderr.split("\n")).toHaveLength(1);
    expect(result.stderr).toContain("Missing system programs the tests need: oathtool.");
    expect(result.stderr).toMatch(/apt-get update && (sudo )?apt-get install -y --no-install-recommends oathtool$/);
    expect(result.stderr).not.toContain("ffmpeg");
    expect(existsSync(aptLog)).toBe(false);
  });

  it("names Chromium by the path it looked at, with the packages it needs", () => {
    const { bin } = fakePath([]);
    const result = check({ PATH: bin, CHROMIUM_PATH: "/nowhere/chromium" }, ["--no-install"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("chromium (/nowhere/chromium)");
    expect(result.stderr).toMatch(/install -y --no-install-recommends chromium fonts-liberation$/);
  });

  it("asks apt-get for exactly the missing packages as root on Debian, and says so when they are still missing", () => {
    const { bin, aptLog } = fakePath(["ffmpeg", "ffprobe", "oathtool"]);
    const result = check({ PATH: bin, CHROMIUM_PATH: chromium });
    expect(result.code).toBe(1);
    if (asRoot && onDebian) {
      expect(readFileSync(aptLog, "utf8").trim().split("\n")).toEqual(["update -qq", "install -y -qq --no-install-recommends ffmpeg oathtool"]);
      expect(result.stderr).toContain("Installing Debian packages for the tests: ffmpeg oathtool");
      expect(result.stderr).toContain("Still missing after installing ffmpeg oathtool");
    } else {
      // Not root (or not Debian): nothing is attempted, and the line says to use sudo.
      expect(existsSync(aptLog)).toBe(false);
      expect(result.stderr).toMatch(/sudo apt-get install -y --no-install-recommends ffmpeg oathtool$/);
    }
  });
});
