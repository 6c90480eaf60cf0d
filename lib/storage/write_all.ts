/** Writing a whole buffer to a file, which a single `write` may do only in part. */

/** Writes all of `data` to `file`, in as many `write` calls as it takes. */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < data.length) offset += await file.write(data.subarray(offset));
}
