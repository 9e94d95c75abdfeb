import { describe, expect, it } from "vitest";
import {
  consistencyProof,
  inclusionProof,
  leafHash,
  nodesCompletedBy,
  nodesOfLeaves,
  RootBuilder,
  toHex,
  treeHashFromHex,
  treeRoot,
  verifyConsistency,
  verifyInclusion,
  type TreeNodes,
} from "../../../shared/audit/merkle";

const unhex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

// The RFC 6962 reference tree used by Certificate Transparency implementations (data only).
const CT_LEAVES = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"].map(unhex);
const CT_ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
const CT_INCLUSION = [
  { index: 0, size: 8, proof: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
  { index: 5, size: 8, proof: ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
];
const CT_CONSISTENCY = [
  { first: 1, second: 8, proof: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
  { first: 2, second: 8, proof: ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"] },
  { first: 6, second: 8, proof: ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a", "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0", "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"] },
  { first: 2, second: 5, proof: ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e", "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"] },
];

async function ctTree(): Promise<TreeNodes> {
  return nodesOfLeaves(await Promise.all(CT_LEAVES.map(leafHash)));
}

/** Stores nodes the way the Durable Object does: appended one leaf at a time. */
async function appendedTree(leaves: Uint8Array[]): Promise<TreeNodes> {
  const store = new Map<string, Uint8Array>();
  const get = async (level: number, index: number) => {
    const found = store.get(`${level}/${index}`);
    if (!found) throw new Error(`node ${level}/${index} not stored`);
    return found;
  };
  for (const [index, leaf] of leaves.entries()) {
    for (const node of await nodesCompletedBy(index, leaf, get)) store.set(`${node.level}/${node.index}`, node.hash);
  }
  return { node: get };
}

describe("Merkle tree (RFC 9162 §2.1, SHA-256)", () => {
  it("gives the reference roots for every size 0 to 8", async () => {
    const tree = await ctTree();
    for (let n = 0; n <= 8; n++) expect(toHex(await treeRoot(tree, n)), `size ${n}`).toBe(CT_ROOTS[n]);
  });

  it("gives the reference inclusion and consistency proofs, and verifies them", async () => {
    const tree = await ctTree();
    const root8 = await treeRoot(tree, 8);
    for (const { index, size, proof } of CT_INCLUSION) {
      expect((await inclusionProof(tree, index, size)).map(toHex)).toEqual(proof);
      expect(await verifyInclusion(index, size, await leafHash(CT_LEAVES[index]!), proof.map(unhex), root8)).toBe(true);
    }
    for (const { first, second, proof } of CT_CONSISTENCY) {
      expect((await consistencyProof(tree, first, second)).map(toHex), `${first} to ${second}`).toEqual(proof);
      expect(await verifyConsistency(first, second, unhex(CT_ROOTS[first]!), unhex(CT_ROOTS[second]!), proof.map(unhex))).toBe(true);
    }
  });

  it("stores, appended leaf by leaf, the same tree as the definition, and the streaming root agrees", async () => {
    const leaves = await Promise.all(Array.from({ length: 70 }, (_, i) => leafHash(Uint8Array.of(i, i * 3))));
    const reference = nodesOfLeaves(leaves);
    const appended = await appendedTree(leaves);
    const builder = new RootBuilder();
    for (let n = 1; n <= leaves.length; n++) {
      await builder.push(leaves[n - 1]!);
      const root = toHex(await treeRoot(reference, n));
      expect(toHex(await treeRoot(appended, n)), `size ${n}`).toBe(root);
      expect(toHex(await builder.root()), `size ${n}`).toBe(root);
    }
  });

  it("verifies every inclusion and consistency proof in trees of 1 to 33 leaves, and refuses each proof altered, shortened, lengthened or used for another leaf", async () => {
    const leaves = await Promise.all(Array.from({ length: 33 }, (_, i) => leafHash(Uint8Array.of(i))));
    const tree = nodesOfLeaves(leaves);
    const bad = Uint8Array.from({ length: 32 }, () => 7);
    for (let n = 1; n <= leaves.length; n++) {
      const root = await treeRoot(tree, n);
      for (let i = 0; i < n; i++) {
        const proof = await inclusionProof(tree, i, n);
        expect(await verifyInclusion(i, n, leaves[i]!, proof, root)).toBe(true);
        if (n > 1) expect(await verifyInclusion(i === 0 ? 1 : i - 1, n, leaves[i]!, proof, root)).toBe(false);
        expect(await verifyInclusion(i, n, bad, proof, root)).toBe(false);
        expect(await verifyInclusion(i, n, leaves[i]!, [...proof, bad], root)).toBe(false);
        if (proof.length > 0) {
          expect(await verifyInclusion(i, n, leaves[i]!, proof.slice(1), root)).toBe(false);
          expect(await verifyInclusion(i, n, leaves[i]!, [bad, ...proof.slice(1)], root)).toBe(false);
        }
      }
      for (let m = 1; m <= n; m++) {
        const oldRoot = await treeRoot(tree, m);
        const proof = await consistencyProof(tree, m, n);
        expect(await verifyConsistency(m, n, oldRoot, root, proof), `${m} to ${n}`).toBe(true);
        expect(await verifyConsistency(m, n, bad, root, proof)).toBe(false);
        expect(await verifyConsistency(m, n, oldRoot, bad, proof)).toBe(false);
        expect(await verifyConsistency(m, n, oldRoot, root, [...proof, bad])).toBe(false);
        if (proof.length > 0) expect(await verifyConsistency(m, n, oldRoot, root, [bad, ...proof.slice(1)])).toBe(false);
        if (m < n) expect(await verifyConsistency(m, n, oldRoot, root, [])).toBe(false);
      }
    }
  });

  it("reads only lowercase 64-digit hex as a tree hash", () => {
    expect(treeHashFromHex(CT_ROOTS[1])).toEqual(unhex(CT_ROOTS[1]!));
    expect(treeHashFromHex(CT_ROOTS[1]!.toUpperCase())).toBeNull();
    expect(treeHashFromHex(CT_ROOTS[1]!.slice(2))).toBeNull();
    expect(treeHashFromHex(42)).toBeNull();
  });
});
