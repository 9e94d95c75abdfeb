/**
 * Where the audit log's rows live (docs/audit.md, "How the log grows"): the organisation's one
 * Merkle tree is cut into periods of 2^bits consecutive events. Because a period is a power of two
 * long and starts on a multiple of its length, it is one complete aligned subtree of the tree: its
 * root is the tree node (level `bits`, index p). Nothing about the tree, its proofs or its
 * checkpoints depends on the cut; only which Durable Object holds a row does.
 */

/** Bits of a period's length in production: 2^20 (about a million) events, about 2 GB of storage. */
export const AUDIT_PERIOD_BITS = 20;

/**
 * The period length (in bits) the `AUDIT_PERIOD_BITS` binding asks for, or the production one.
 * Only tests and the bench set the binding (small periods make a few dozen events span several).
 */
export function periodBitsOf(value: unknown): number {
  if (typeof value !== "string" || !/^\d{1,2}$/.test(value)) return AUDIT_PERIOD_BITS;
  const bits = Number(value);
  return bits >= 1 && bits <= 30 ? bits : AUDIT_PERIOD_BITS;
}

/** The period holding event `seq` (1-based). */
export function periodOfSeq(seq: number, bits: number): number {
  return Math.floor((seq - 1) / 2 ** bits);
}

/** The first and last `seq` of period `p`. */
export function periodSeqs(p: number, bits: number): { first: number; last: number } {
  return { first: p * 2 ** bits + 1, last: (p + 1) * 2 ** bits };
}

/** The period holding tree node (`level`, `index`), for a node below the periods' roots (level < bits). */
export function periodOfNode(level: number, index: number, bits: number): number {
  return Math.floor(index / 2 ** (bits - level));
}

/**
 * The tree nodes of levels 0..`bits` whose last leaf is one of the leaves `lo`..`hi` (0-based,
 * inclusive), as an index range per level (empty levels left out): sending each batch of leaves
 * with these nodes sends every node of a period exactly once, its root with the last batch.
 */
export function nodesEndingIn(lo: number, hi: number, bits: number): { level: number; first: number; last: number }[] {
  const out: { level: number; first: number; last: number }[] = [];
  for (let level = 0; level <= bits; level++) {
    const span = 2 ** level;
    const first = Math.ceil((lo + 1) / span) - 1;
    const last = Math.floor((hi + 1) / span) - 1;
    if (first <= last) out.push({ level, first, last });
  }
  return out;
}
