/**
 * The Deno host's storage as an attacker with the disk would meet it: a byte changed in an
 * evidence file on disk is caught when the evidence is opened, and named.
 */
import { openSync, readSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { IntegrityError } from "../../shared/crypto";
import { db } from "../worker/backend";
import { denoServer } from "../worker/backend-deno";
import { downloadEvidence, openCase, randomBytes, storedItem, uploadEvidence, withKeys } from "../worker/evidence-helpers";
import { setUpOrganisation } from "../worker/helpers";

const MiB = 1024 * 1024;

describe("evidence on the Deno host's disk", () => {
  it("reports a byte flipped in a stored file as an integrity failure of that part", async () => {
    const lead = await withKeys(await setUpOrganisation());
    const c = await openCase(lead, "T-1");
    const bytes = randomBytes(9 * MiB, 3);
    const upload = await uploadEvidence(lead, c, bytes);
    expect(await downloadEvidence(lead, upload.evidenceId)).toEqual(bytes);

    const { r2_key: key } = (await storedItem(upload.evidenceId))!;
    const dir = join(denoServer().stateDir, "r2", "EVIDENCE");
    const index = new DatabaseSync(join(dir, "index.sqlite"));
    const blobs = JSON.parse((index.prepare("SELECT blobs FROM objects WHERE key = ?").get(key) as { blobs: string }).blobs) as { id: string }[];
    index.close();
    expect(blobs).toHaveLength(2); // the object is its two parts, as uploaded
    const file = openSync(join(dir, "blobs", blobs[1]!.id), "r+");
    const byte = new Uint8Array(1);
    readSync(file, byte, 0, 1, 4321);
    byte[0]! ^= 0x80;
    writeSync(file, byte, 0, 1, 4321);
    closeSync(file);

    await expect(downloadEvidence(lead, upload.evidenceId)).rejects.toBeInstanceOf(IntegrityError);
    await expect(downloadEvidence(lead, upload.evidenceId)).rejects.toMatchObject({ what: "part 1" });
  });
});
