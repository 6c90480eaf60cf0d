/**
 * One volume file on local disk, downloaded by hand: checked against the catalog's size and
 * SHA-256, then decrypted to the name without `.age`, through a temporary file that is renamed
 * only once every chunk has authenticated (and removed on any failure).
 */
import { createHash } from "node:crypto";
import { basename, dirname, join } from "node:path";
import { decryptVolume } from "../archive/volume_format.ts";
import { randomHex } from "../storage/local_files.ts";

/** A volume file whose bytes are not the ones the backup uploaded. */
export class DamagedVolumeError extends Error {
  override name = "DamagedVolumeError";
}

/** Throws `DamagedVolumeError` unless the file at `path` has `size` bytes and SHA-256 `sha256`. */
export async function checkVolumeFile(
  path: string,
  size: number | null,
  sha256: string | null,
  signal?: AbortSignal,
): Promise<void> {
  const info = await Deno.stat(path);
  if (size !== null && info.size !== size) {
    throw new DamagedVolumeError(
      `is ${info.size} bytes but the backup uploaded ${size} (incomplete or damaged download)`,
    );
  }
  if (sha256 === null) return;
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  await file.readable.pipeTo(
    new WritableStream({ write: (chunk) => void hash.update(chunk) }),
    { signal },
  );
  const actual = hash.digest("hex");
  if (actual !== sha256.toLowerCase()) {
    throw new DamagedVolumeError(
      "does not match the SHA-256 recorded in the state database (damaged download?)",
    );
  }
}

/** The name a decrypted volume gets: the volume's name without `.age`. */
export function decryptedName(volumeName: string): string {
  return volumeName.replace(/\.age$/, "");
}

/**
 * Decrypts the age file `path` to `outPath` with `identities`. The plaintext goes to a hidden
 * temporary file beside `outPath`, flushed to disk, then renamed; on failure (an `AgeError` for a
 * wrong key or damaged data, an I/O error, or `signal` aborting) it is removed and the error is
 * thrown.
 */
export async function decryptVolumeFile(
  path: string,
  outPath: string,
  identities: string[],
  signal?: AbortSignal,
): Promise<void> {
  const temp = join(dirname(outPath), `.${basename(outPath)}.partial-${randomHex(6)}`);
  const source = await Deno.open(path);
  let target: Deno.FsFile | undefined;
  try {
    target = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
    await decryptVolume(source.readable, identities).pipeTo(fileSink(target), { signal });
    target = undefined;
    await Deno.rename(temp, outPath);
  } catch (error) {
    closeQuietly(target);
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}

/** A writable stream into `file` that flushes it to disk and closes it at the end. */
function fileSink(file: Deno.FsFile): WritableStream<Uint8Array> {
  return new WritableStream({
    async write(chunk) {
      for (let offset = 0; offset < chunk.length;) {
        offset += await file.write(chunk.subarray(offset));
      }
    },
    async close() {
      await file.sync();
      file.close();
    },
  });
}

function closeQuietly(file: Deno.FsFile | undefined): void {
  try {
    file?.close();
  } catch {
    // already closed
  }
}
