/**
 * A read of D1 rows and their records in the case objects (worker/src/db/records.ts): a record a
 * row named may be replaced and deleted between the two reads by a change committed meanwhile;
 * the read is then made once more, from D1 again. Anything else fails at once.
 */
import { describe, expect, it } from "vitest";
import { readSettled, RecordMissingError } from "../../worker/src/db/records";

describe("readSettled", () => {
  it("reads again, from the start, when a record was replaced under the first read", async () => {
    let reads = 0;
    const read = async () => {
      reads++;
      if (reads === 1) throw new RecordMissingError("case store: record r1 of item e1 is missing from case c1");
      return "the new record";
    };
    expect(await readSettled(read)).toBe("the new record");
    expect(reads).toBe(2);
  });

  it("fails on a second miss, and never retries another error", async () => {
    let reads = 0;
    await expect(readSettled(async () => {
      reads++;
      throw new RecordMissingError("missing");
    })).rejects.toThrow(RecordMissingError);
    expect(reads).toBe(2);
    reads = 0;
    await expect(readSettled(async () => {
      reads++;
      throw new Error("D1 is down");
    })).rejects.toThrow("D1 is down");
    expect(reads).toBe(1);
  });
});
