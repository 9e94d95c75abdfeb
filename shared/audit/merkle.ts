/**
 * The audit log's Merkle tree (docs/audit.md §3): RFC 9162 §2.1 hashing, proofs and their
 * verification, with SHA-256 as in Certificate Transparency. Pure and WebCrypto only, so the
 * Durable Object that grows the tree, the worker that exports proofs, the browser that builds
 * a court package and the offline verifiers all run this one file.
 *
 * Sizes and indexes are leaf counts and 0-based leaf positions (event `seq` - 1).
 * Hashes are 32-byte Uint8Arrays here; exports write them as lowercase hex.
 */

/** Bytes of one tree hash (SHA-256). */
export const TREE_HASH_BYTES = 32;

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const input = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    input.set(part, at);
    at += part.length;
  }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input));
}

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/** RFC 9162 §2.1.1 leaf hash: SHA-256(0x00 || leaf input). The prefix keeps a leaf from passing as a node. */
export function leafHash(leafInput: Uint8Array): Promise<Uint8Array> {
  return sha256(LEAF_PREFIX, leafInput);
}

/** RFC 9162 §2.1.1 interior node: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(NODE_PREFIX, left, right);
}

/** SHA-256 of the empty string: the root of the empty tree (RFC 9162 §2.1.1). */
export async function emptyRoot(): Promise<Uint8Array> {
  return sha256();
}

/** The largest power of two smaller than n (n ≥ 2): RFC 9162's split point k. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * Where complete subtrees come from: `node(level, index)` is the hash of the aligned subtree of
 * 2^level leaves starting at leaf index·2^level (level 0: the leaf hashes). The Durable Object
 * stores them; a test builds them from a list.
 */
export interface TreeNodes {
  node(level: number, index: number): Promise<Uint8Array>;
}

/** MTH(D[start:end]) per RFC 9162 §2.1.1, from stored complete subtrees (O(log n) lookups). */
export async function rangeHash(nodes: TreeNodes, start: number, end: number): Promise<Uint8Array> {
  const n = end - start;
  if (n <= 0) throw new RangeError("empty range");
  // A power-of-two range starting on its own multiple is one stored node.
  if ((n & (n - 1)) === 0 && start % n === 0) return nodes.node(Math.log2(n), start / n);
  const k = splitPoint(n);
  return nodeHash(await rangeHash(nodes, start, start + k), await rangeHash(nodes, start + k, end));
}

/** The root of the tree of the first `size` leaves (the empty tree's root for 0). */
export async function treeRoot(nodes: TreeNodes, size: number): Promise<Uint8Array> {
  return size === 0 ? emptyRoot() : rangeHash(nodes, 0, size);
}

/**
 * The nodes to store when leaf `index` (the tree had exactly `index` leaves) is appended:
 * the leaf itself, then each subtree it completes. `get` returns an already stored node.
 */
export async function nodesCompletedBy(
  index: number,
  leaf: Uint8Array,
  get: (level: number, index: number) => Promise<Uint8Array>,
): Promise<{ level: number; index: number; hash: Uint8Array }[]> {
  const out = [{ level: 0, index, hash: leaf }];
  let level = 0;
  let at = index;
  let hash = leaf;
  while (at % 2 === 1) {
    hash = await nodeHash(await get(level, at - 1), hash);
    level++;
    at = (at - 1) / 2;
    out.push({ level, index: at, hash });
  }
  return out;
}

/** RFC 9162 §2.1.3.1 PATH(m, D[n]): the inclusion proof of leaf `index` in the tree of `size` leaves. */
export async function inclusionProof(nodes: TreeNodes, index: number, size: number): Promise<Uint8Array[]> {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path = async (m: number, start: number, end: number): Promise<Uint8Array[]> => {
    const n = end - start;
    if (n === 1) return [];
    const k = splitPoint(n);
    return m < k
      ? [...(await path(m, start, start + k)), await rangeHash(nodes, start + k, end)]
      : [...(await path(m - k, start + k, end)), await rangeHash(nodes, start, start + k)];
  };
  return path(index, 0, size);
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[n]): the consistency proof from the tree of `oldSize` leaves to that of `newSize`. */
export async function consistencyProof(nodes: TreeNodes, oldSize: number, newSize: number): Promise<Uint8Array[]> {
  if (!(oldSize > 0 && oldSize <= newSize)) throw new RangeError(`no consistency proof from ${oldSize} to ${newSize}`);
  const subproof = async (m: number, start: number, end: number, complete: boolean): Promise<Uint8Array[]> => {
    const n = end - start;
    if (m === n) return complete ? [] : [await rangeHash(nodes, start, end)];
    const k = splitPoint(n);
    return m <= k
      ? [...(await subproof(m, start, start + k, complete)), await rangeHash(nodes, start + k, end)]
      : [...(await subproof(m - k, start + k, end, false)), await rangeHash(nodes, start, start + k)];
  };
  return subproof(oldSize, 0, newSize, true);
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** RFC 9162 §2.1.3.2: true when `proof` shows the leaf with hash `leaf` at `index` in the tree of `size` with root `root`. */
export async function verifyInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[], root: Uint8Array): Promise<boolean> {
  if (!(Number.isSafeInteger(index) && Number.isSafeInteger(size) && index >= 0 && index < size)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(r, root);
}

/** RFC 9162 §2.1.4.2: true when `proof` shows the tree (`newSize`, `newRoot`) extends the tree (`oldSize`, `oldRoot`). */
export async function verifyConsistency(oldSize: number, newSize: number, oldRoot: Uint8Array, newRoot: Uint8Array, proof: Uint8Array[]): Promise<boolean> {
  if (!(Number.isSafeInteger(oldSize) && Number.isSafeInteger(newSize) && oldSize > 0 && oldSize <= newSize)) return false;
  if (oldSize === newSize) return proof.length === 0 && same(oldRoot, newRoot);
  if (proof.length === 0) return false;
  // An old tree that is a complete left subtree is itself the first node of the path.
  const path = (oldSize & (oldSize - 1)) === 0 ? [oldRoot, ...proof] : proof;
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && same(fr, oldRoot) && same(sr, newRoot);
}

/**
 * Computes the root of a tree fed one leaf hash at a time, in O(log n) memory (the "compact
 * range": one hash per 1 bit of the size). A verifier of a full export uses it to recompute the
 * signed root from the events themselves.
 */
export class RootBuilder {
  private readonly stack: { size: number; hash: Uint8Array }[] = [];
  size = 0;

  async push(leaf: Uint8Array): Promise<void> {
    let top = { size: 1, hash: leaf };
    while (this.stack.length > 0 && this.stack.at(-1)!.size === top.size) {
      const left = this.stack.pop()!;
      top = { size: left.size * 2, hash: await nodeHash(left.hash, top.hash) };
    }
    this.stack.push(top);
    this.size++;
  }

  async root(): Promise<Uint8Array> {
    if (this.stack.length === 0) return emptyRoot();
    let hash = this.stack.at(-1)!.hash;
    for (let i = this.stack.length - 2; i >= 0; i--) hash = await nodeHash(this.stack[i]!.hash, hash);
    return hash;
  }
}

/** Complete subtrees of a tree held as a list of leaf hashes (tests, the published vector, small trees). */
export function nodesOfLeaves(leaves: Uint8Array[]): TreeNodes {
  const memo = new Map<string, Promise<Uint8Array>>();
  const node = (level: number, index: number): Promise<Uint8Array> => {
    const key = `${level}/${index}`;
    let found = memo.get(key);
    if (!found) {
      if (level === 0) {
        const leaf = leaves[index];
        found = leaf ? Promise.resolve(leaf) : Promise.reject(new RangeError(`no leaf ${index}`));
      } else {
        found = (async () => nodeHash(await node(level - 1, index * 2), await node(level - 1, index * 2 + 1)))();
      }
      memo.set(key, found);
    }
    return found;
  };
  return { node };
}

/** Lowercase hex of a hash. */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A 32-byte tree hash from lowercase hex (exactly 64 characters of 0-9a-f), or null. */
export function treeHashFromHex(hex: unknown): Uint8Array | null {
  if (typeof hex !== "string" || !/^[0-9a-f]{64}$/.test(hex)) return null;
  return Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16));
}

/**
 * The nodes (level, index) that `run` asks of its TreeNodes: which nodes a root or proof needs
 * does not depend on their hashes, so running it once over zeros lists them, to fetch in one go.
 */
export async function nodesUsedBy(run: (nodes: TreeNodes) => Promise<unknown>): Promise<[number, number][]> {
  const used = new Map<string, [number, number]>();
  const zero = new Uint8Array(TREE_HASH_BYTES);
  await run({
    node: async (level, index) => {
      used.set(`${level}/${index}`, [level, index]);
      return zero;
    },
  });
  return [...used.values()];
}
