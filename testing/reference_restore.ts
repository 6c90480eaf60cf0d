/**
 * Gets a finished backup back the way a user without this program would: download every volume
 * the catalog lists, check it against the catalog's SHA-256, and extract it with the reference
 * tools (`age -d | zstd -d | tar -x`). Tests compare the result with the source tree; the helper
 * stands in for `glacier restore` until that command exists, and can then be swapped for it.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { archivePath } from "../lib/archive/archive_path.ts";
import { Catalog } from "../lib/catalog/catalog.ts";
import type { Storage } from "../lib/storage/storage.ts";
import { diffTrees } from "./tree.ts";
import { extractWithReferenceTools } from "./volumes.ts";

/** What `restoreWithReferenceTools` did. */
export interface ReferenceRestore {
  /** Folder the volumes were extracted into (absolute source paths recreated below it). */
  dest: string;
  /** Volumes downloaded and extracted. */
  volumes: number;
}

/**
 * Downloads each uploaded volume of the backup in `stateDb` from `storage` into `scratch`,
 * checks its size and SHA-256 against the catalog, extracts it into `scratch/restored` with the
 * reference tools, and deletes the download. Throws on any mismatch or extraction failure.
 */
export async function restoreWithReferenceTools(
  stateDb: string,
  storage: Storage,
  scratch: string,
): Promise<ReferenceRestore> {
  const catalog = Catalog.open(stateDb);
  const volumes = catalog.volumes();
  const identity = catalog.identity();
  catalog.close();
  const dest = join(scratch, "restored");
  const downloads = join(scratch, "downloads");
  await Deno.mkdir(dest, { recursive: true });
  await Deno.mkdir(downloads, { recursive: true });
  let keyFile: string | undefined;
  if (identity) {
    keyFile = join(scratch, "key.txt");
    await Deno.writeTextFile(keyFile, `${identity}\n`, { mode: 0o600 });
  }
  let count = 0;
  for (const volume of volumes) {
    if (volume.state !== "uploaded") {
      throw new Error(`volume ${volume.name} is ${volume.state}, not uploaded`);
    }
    const path = join(downloads, volume.name);
    const { size, sha256 } = await download(storage, volume.objectKey, path);
    if (size !== volume.size || sha256 !== volume.sha256) {
      throw new Error(
        `${volume.objectKey}: downloaded ${size} bytes with SHA-256 ${sha256}, catalog has ` +
          `${volume.size} bytes with SHA-256 ${volume.sha256}`,
      );
    }
    await extractWithReferenceTools(path, dest, keyFile);
    await Deno.remove(path);
    count++;
  }
  return { dest, volumes: count };
}

/** Streams an object to `path`; returns its size and SHA-256. */
export async function download(
  storage: Storage,
  key: string,
  path: string,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash("sha256");
  let size = 0;
  const body = await storage.getObject(key);
  using file = await Deno.open(path, { write: true, create: true, truncate: true });
  for await (const chunk of body) {
    hash.update(chunk);
    size += chunk.length;
    let written = 0;
    while (written < chunk.length) written += await file.write(chunk.subarray(written));
  }
  return { size, sha256: hash.digest("hex") };
}

/**
 * Differences between a source folder and its restored copy under `dest` (where `tar -x`
 * recreated the absolute path without its leading `/`); empty when identical byte for byte.
 */
export function diffRestored(sourceDir: string, dest: string): Promise<string[]> {
  return diffTrees(sourceDir, join(dest, archivePath(sourceDir)));
}
