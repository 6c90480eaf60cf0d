/** Content hashes sent from the pack worker give back what they were made of. */
import assert from "node:assert/strict";
import { appendHashes, hashColumns } from "../../lib/archive/pack_messages.ts";
import type { PackedFileHash } from "../../lib/archive/volume_tar.ts";

Deno.test("content hashes survive their columns, appended after those already there", () => {
  const hex = (n: number) => n.toString(16).padStart(64, "0");
  const hashes: PackedFileHash[] = [1, 2, 2 ** 40].map((id) => ({ id, sha256: hex(id * 7) }));
  const into: PackedFileHash[] = [{ id: 0, sha256: hex(0) }];
  appendHashes(structuredClone(hashColumns(hashes)), into);
  assert.deepEqual(into, [{ id: 0, sha256: hex(0) }, ...hashes]);
  appendHashes(hashColumns([]), into);
  assert.equal(into.length, 4);
});
