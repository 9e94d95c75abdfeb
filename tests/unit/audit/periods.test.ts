import { describe, expect, it } from "vitest";
import { consistencyProof, inclusionProof, leafHash, nodesOfLeaves, nodesUsedBy, toHex, type TreeNodes } from "../../../shared/audit/merkle";
import { AUDIT_PERIOD_BITS, nodesEndingIn, periodBitsOf, periodOfNode, periodOfSeq, periodSeqs } from "../../../shared/audit/periods";

describe("audit periods (docs/audit.md §3.6)", () => {
  it("reads the period length from the binding, else 2^20 events", () => {
    expect(AUDIT_PERIOD_BITS).toBe(20);
    expect(periodBitsOf(undefined)).toBe(20);
    expect(periodBitsOf("3")).toBe(3);
    for (const bad of ["0", "31", "-1", "3.5", " 3", "x", 3]) expect(periodBitsOf(bad)).toBe(20);
  });

  it("cuts the events into aligned periods whose nodes below their root are their own", () => {
    expect(periodSeqs(0, 3)).toEqual({ first: 1, last: 8 });
    expect(periodSeqs(2, 3)).toEqual({ first: 17, last: 24 });
    expect([1, 8, 9, 24, 25].map((seq) => periodOfSeq(seq, 3))).toEqual([0, 0, 1, 2, 3]);
    // Node (level, index) covers leaves index·2^level …; below level 3, those of one period.
    expect(periodOfNode(0, 16, 3)).toBe(2);
    expect(periodOfNode(2, 5, 3)).toBe(2);
    expect(periodOfNode(1, 3, 3)).toBe(0);
  });

  it("sends every node of a period exactly once, however its leaves are batched", () => {
    const bits = 4;
    for (const batch of [1, 3, 5, 16]) {
      const sent = new Map<string, number>();
      // Period 1: leaves 16 … 31.
      for (let lo = 16; lo < 32; lo += batch) {
        for (const range of nodesEndingIn(lo, Math.min(31, lo + batch - 1), bits)) {
          for (let idx = range.first; idx <= range.last; idx++) sent.set(`${range.level}/${idx}`, (sent.get(`${range.level}/${idx}`) ?? 0) + 1);
        }
      }
      const expected = new Map<string, number>();
      for (let level = 0; level <= bits; level++) for (let idx = 16 >> level; idx < 32 >> level; idx++) expected.set(`${level}/${idx}`, 1);
      expect(sent).toEqual(expected);
    }
  });

  it("lists the nodes a proof uses without their hashes, and the proof from only those nodes is the same", async () => {
    const leaves = await Promise.all(Array.from({ length: 45 }, (_, i) => leafHash(Uint8Array.of(i))));
    const all = nodesOfLeaves(leaves);
    const used = await nodesUsedBy(async (nodes) => {
      await inclusionProof(nodes, 5, 45);
      await consistencyProof(nodes, 13, 45);
    });
    const only = new Map(await Promise.all(used.map(async ([level, index]) => [`${level}/${index}`, await all.node(level, index)] as const)));
    const restricted: TreeNodes = {
      node: async (level, index) => {
        const found = only.get(`${level}/${index}`);
        if (!found) throw new Error(`node ${level}/${index} was not listed`);
        return found;
      },
    };
    expect((await inclusionProof(restricted, 5, 45)).map(toHex)).toEqual((await inclusionProof(all, 5, 45)).map(toHex));
    expect((await consistencyProof(restricted, 13, 45)).map(toHex)).toEqual((await consistencyProof(all, 13, 45)).map(toHex));
  });
});
