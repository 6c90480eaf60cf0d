/** Filling a whole buffer from a file, which a single `read` may do only in part. */

/** Reads until `buffer` is full or the file ends; returns the number of bytes read. */
export async function readFull(file: Deno.FsFile, buffer: Uint8Array): Promise<number> {
  let filled = 0;
  while (filled < buffer.length) {
    const read = await file.read(buffer.subarray(filled));
    if (read === null) break;
    filled += read;
  }
  return filled;
}
