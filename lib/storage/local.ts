/**
 * `Storage` on a plain folder (`file:///some/folder`): a NAS, an external disk, or a way to try the
 * program without AWS. Objects are files at their key path under the root. Layout of what the
 * storage keeps for itself (every such name starts with `.glacier-`, which keys may not use):
 *
 *     ROOT/.glacier-meta/<key>                       storage class, when not STANDARD
 *     .../.glacier-tmp-<hex>                         a write in progress (or cut short)
 *     ROOT/.glacier-uploads/                         left by older versions (`local_legacy.ts`)
 *
 * Files are written mode 0600 and folders the storage creates 0700 (the root is the user's).
 * Every write is atomic and durable (temp file, fsync, rename), so there are no multipart
 * uploads: a large file is copied in whole by `putFile`, and an interrupted copy is simply made
 * again. Nothing is ever archived: `restoreObject` does nothing and `getObject` never fails with
 * `archived`. A key cannot be both an object and a
 * "folder" of other keys (`a/b` and `a/b/c`), as in any file system. Emptied folders are kept.
 */

import { join, resolve } from "node:path";
import { compareKeys } from "./key_order.ts";
import { fileUrlOf } from "./file_url.ts";
import { removeLegacyUploads } from "./local_legacy.ts";
import {
  CHUNK_SIZE,
  classifyFsError,
  copyFileAtomic,
  FILE_MODE,
  isReservedName,
  randomHex,
  removeIfPresent,
  RESERVED_NAME_PREFIX,
  writeFileAtomic,
} from "./local_files.ts";
import { writeAll } from "./write_all.ts";
import { type ObjectInfo, type Storage, StorageError } from "./storage.ts";

const META_FOLDER = `${RESERVED_NAME_PREFIX}meta`;

/** Creates a `Storage` on the folder `root` (made absolute against the current folder). */
export function createLocalStorage(root: string): Storage {
  return new LocalStorage(resolve(root));
}

class LocalStorage implements Storage {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = fileUrlOf(root);
  }

  async checkAccess(): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.root);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new StorageError("permanent", `folder ${this.root} does not exist`, { cause: error });
      }
      throw classifyFsError(error, `access check of folder ${this.root}`, "permanent");
    }
    if (!info.isDirectory) {
      throw new StorageError("permanent", `${this.root} is not a folder`);
    }
    const probe = join(this.root, `${RESERVED_NAME_PREFIX}tmp-probe-${randomHex(8)}`);
    try {
      await Deno.writeFile(probe, new Uint8Array(0), { createNew: true, mode: FILE_MODE });
      await Deno.remove(probe);
    } catch (error) {
      const classified = classifyFsError(error, `write test in folder ${this.root}`, "permanent");
      if (classified.kind !== "permanent") throw classified;
      throw new StorageError(
        "permanent",
        `folder ${this.root} is not writable: ${classified.message}`,
        {
          cause: error,
        },
      );
    }
  }

  async putObject(key: string, body: Uint8Array, storageClass: string): Promise<void> {
    const operation = `upload of ${quote(key)}`;
    const path = this.objectPath(key, operation);
    try {
      await this.saveStorageClass(key, storageClass);
      await writeFileAtomic(path, (file) => writeAll(file, body));
    } catch (error) {
      throw classifyFsError(error, operation, "transient");
    }
    await removeLegacyUploads(this.root, key);
  }

  /**
   * Copies a local file in as an object: one kernel copy and one fsync, no parts; an interrupted
   * copy leaves only a temp file, and is made again in whole.
   */
  async putFile(key: string, source: string, storageClass: string): Promise<void> {
    const operation = `upload of ${quote(key)}`;
    const path = this.objectPath(key, operation);
    try {
      await this.saveStorageClass(key, storageClass);
      await copyFileAtomic(source, path);
    } catch (error) {
      // The file to copy is gone: no retry can bring it back (its owner must make it again).
      if (error instanceof Deno.errors.NotFound && !(await Deno.lstat(source).catch(() => null))) {
        throw new StorageError("permanent", `${operation} failed: ${source} is gone`, {
          cause: error,
        });
      }
      throw classifyFsError(error, operation, "transient");
    }
    await removeLegacyUploads(this.root, key);
  }

  async headObject(key: string): Promise<ObjectInfo | undefined> {
    const operation = `metadata request for ${quote(key)}`;
    const path = this.objectPath(key, operation);
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return undefined;
      }
      throw classifyFsError(error, operation);
    }
    if (!info.isFile) return undefined;
    return await this.objectInfo(key, info);
  }

  async *listObjects(prefix: string): AsyncIterable<ObjectInfo> {
    const operation = `listing of ${quote(prefix)}`;
    const slash = prefix.lastIndexOf("/");
    const folderKey = slash < 0 ? "" : prefix.slice(0, slash);
    if (folderKey !== "") this.objectPath(folderKey, operation);
    let found: { key: string; info: Deno.FileInfo }[];
    try {
      found = await this.walk(folderKey);
    } catch (error) {
      throw classifyFsError(error, operation, "transient");
    }
    found = found.filter((item) => item.key.startsWith(prefix));
    found.sort((a, b) => compareKeys(a.key, b.key));
    for (const item of found) {
      try {
        yield await this.objectInfo(item.key, item.info);
      } catch (error) {
        throw classifyFsError(error, operation, "transient");
      }
    }
  }

  async getObject(
    key: string,
    range?: { start: number; end: number },
  ): Promise<ReadableStream<Uint8Array>> {
    const operation = `download of ${quote(key)}`;
    const path = this.objectPath(key, operation);
    if (range && !(Number.isInteger(range.start) && range.start >= 0 && range.end > range.start)) {
      throw new StorageError(
        "permanent",
        `${operation} failed: invalid range [${range.start}, ${range.end})`,
      );
    }
    let file: Deno.FsFile;
    try {
      file = await Deno.open(path, { read: true });
    } catch (error) {
      if (error instanceof Deno.errors.NotADirectory) {
        throw new StorageError("not-found", `${operation} failed: no such object`);
      }
      throw classifyFsError(error, operation);
    }
    try {
      const { size, isFile } = await file.stat();
      if (!isFile) throw new StorageError("not-found", `${operation} failed: no such object`);
      const start = range?.start ?? 0;
      const end = Math.min(range?.end ?? size, size);
      if (range && start >= size) {
        throw new StorageError(
          "permanent",
          `${operation} failed: InvalidRange: byte ${start} is beyond the object's ${size} bytes`,
        );
      }
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
      return fileStream(file, end - start, operation);
    } catch (error) {
      file.close();
      throw classifyFsError(error, operation);
    }
  }

  async deleteObject(key: string): Promise<void> {
    const operation = `deletion of ${quote(key)}`;
    const path = this.objectPath(key, operation);
    try {
      const info = await Deno.stat(path).catch(() => undefined);
      if (info?.isFile) await removeIfPresent(path);
      await removeIfPresent(this.metaPath(key));
    } catch (error) {
      throw classifyFsError(error, operation, "transient");
    }
  }

  restoreObject(): Promise<void> {
    return Promise.resolve();
  }

  /** The file of `key`, after checking that the key is a safe relative path. */
  private objectPath(key: string, operation: string): string {
    const problem = keyProblem(key);
    if (problem) {
      throw new StorageError("permanent", `${operation} failed: invalid key: ${problem}`);
    }
    return join(this.root, ...key.split("/"));
  }

  private metaPath(key: string): string {
    return storageClassSidecar(this.root, key);
  }

  /** Records a non-STANDARD storage class beside the object (removes a stale one otherwise). */
  private async saveStorageClass(key: string, storageClass: string): Promise<void> {
    const path = this.metaPath(key);
    if (storageClass === "STANDARD" || storageClass === "") {
      await removeIfPresent(path);
      return;
    }
    const bytes = new TextEncoder().encode(storageClass);
    await writeFileAtomic(path, (file) => writeAll(file, bytes));
  }

  private async objectInfo(key: string, info: Deno.FileInfo): Promise<ObjectInfo> {
    let storageClass = "STANDARD";
    try {
      storageClass = (await Deno.readTextFile(this.metaPath(key))).trim() || "STANDARD";
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory)) {
        throw error;
      }
    }
    return { key, size: info.size, storageClass, lastModified: info.mtime ?? undefined };
  }

  /** Every object file under the folder of `folderKey`, skipping the storage's own names. */
  private async walk(folderKey: string): Promise<{ key: string; info: Deno.FileInfo }[]> {
    const found: { key: string; info: Deno.FileInfo }[] = [];
    const visit = async (keyPrefix: string, folder: string) => {
      let entries: Deno.DirEntry[];
      try {
        entries = await Array.fromAsync(Deno.readDir(folder));
      } catch (error) {
        if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
          return;
        }
        throw error;
      }
      for (const entry of entries) {
        if (isReservedName(entry.name)) continue;
        const path = join(folder, entry.name);
        const key = keyPrefix + entry.name;
        if (entry.isDirectory) {
          await visit(`${key}/`, path);
        } else if (entry.isFile) {
          const info = await Deno.stat(path).catch(() => undefined);
          if (info?.isFile) found.push({ key, info });
        }
      }
    };
    const start = folderKey === "" ? this.root : join(this.root, ...folderKey.split("/"));
    await visit(folderKey === "" ? "" : `${folderKey}/`, start);
    return found;
  }
}

/**
 * The file beside an object that records its storage class when not STANDARD (a folder has no
 * storage classes of its own): `ROOT/.glacier-meta/<key>`.
 */
export function storageClassSidecar(root: string, key: string): string {
  return join(root, META_FOLDER, ...key.split("/"));
}

/** Why `key` cannot be stored, or `undefined` when it can. */
export function keyProblem(key: string): string | undefined {
  if (key === "") return "the key is empty";
  if (key.startsWith("/") || /^[A-Za-z]:/.test(key)) return `${quote(key)} is absolute`;
  if (/[\\\0]/.test(key)) return `${quote(key)} contains a backslash or NUL`;
  for (const segment of key.split("/")) {
    if (segment === "" || segment === "." || segment === "..") {
      return `${quote(key)} has an empty, "." or ".." segment`;
    }
    if (isReservedName(segment)) {
      return `${quote(key)} uses the reserved name prefix ${RESERVED_NAME_PREFIX}`;
    }
  }
  return undefined;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** The next `length` bytes of an open file as a stream; closes the file when done or cancelled. */
function fileStream(
  file: Deno.FsFile,
  length: number,
  operation: string,
): ReadableStream<Uint8Array> {
  let remaining = length;
  let closed = false;
  const close = () => {
    if (!closed) {
      closed = true;
      file.close();
    }
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (remaining <= 0) {
        close();
        controller.close();
        return;
      }
      const buffer = new Uint8Array(Math.min(CHUNK_SIZE, remaining));
      try {
        const read = await file.read(buffer);
        if (read === null) {
          throw new StorageError("transient", `${operation} failed: the file ended early`);
        }
        remaining -= read;
        controller.enqueue(buffer.subarray(0, read));
      } catch (error) {
        close();
        controller.error(classifyFsError(error, operation, "transient"));
      }
    },
    cancel() {
      close();
    },
  });
}
