/**
 * `Storage` on a plain folder (`file:///some/folder`): a NAS, an external disk, or a way to try the
 * program without AWS. Objects are files at their key path under the root. Layout of what the
 * storage keeps for itself (every such name starts with `.glacier-`, which keys may not use):
 *
 *     ROOT/.glacier-uploads/<uploadId>/upload.json   key, storage class, start time
 *     ROOT/.glacier-uploads/<uploadId>/00001         the parts, numbered
 *     ROOT/.glacier-meta/<key>                       storage class, when not STANDARD
 *     .../.glacier-tmp-<hex>                         a write in progress (or cut short)
 *
 * Files are written mode 0600 and folders the storage creates 0700 (the root is the user's).
 * Every write is atomic and durable; completing an upload streams the parts into the object, so
 * memory use does not grow with object size. Nothing is ever archived: `restoreObject` does
 * nothing and `getObject` never fails with `archived`. A key cannot be both an object and a
 * "folder" of other keys (`a/b` and `a/b/c`), as in any file system. Emptied folders are kept.
 */

import { createHash } from "node:crypto";
import { join, resolve } from "node:path";
import { compareKeys } from "./key_order.ts";
import {
  CHUNK_SIZE,
  classifyFsError,
  copyFileAtomic,
  FILE_MODE,
  isReservedName,
  randomHex,
  removeIfPresent,
  RESERVED_NAME_PREFIX,
  writeAll,
  writeFileAtomic,
} from "./local_files.ts";
import {
  type ObjectInfo,
  type PendingUpload,
  type Storage,
  StorageError,
  type UploadedPart,
} from "./storage.ts";

const UPLOADS_FOLDER = `${RESERVED_NAME_PREFIX}uploads`;
const META_FOLDER = `${RESERVED_NAME_PREFIX}meta`;
const UPLOAD_META_FILE = "upload.json";
/** S3's limits, enforced here too so that a local run catches what S3 would reject. */
const MIN_PART_SIZE = 5 * 1024 * 1024;
const MAX_PART_NUMBER = 10_000;

/** What `upload.json` holds. */
interface UploadMeta {
  key: string;
  storageClass: string;
  initiated: string;
}

/** Creates a `Storage` on the folder `root` (made absolute against the current folder). */
export function createLocalStorage(root: string): Storage {
  return new LocalStorage(resolve(root));
}

class LocalStorage implements Storage {
  readonly description: string;

  constructor(private readonly root: string) {
    this.description = `file://${root.startsWith("/") ? "" : "/"}${root.replaceAll("\\", "/")}`;
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
  }

  /** Copies a local file in as an object: one kernel copy and one fsync, no parts. */
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
  }

  async createMultipartUpload(key: string, storageClass: string): Promise<string> {
    const operation = `start of multipart upload of ${quote(key)}`;
    this.objectPath(key, operation);
    const uploadId = randomHex(16);
    const meta: UploadMeta = { key, storageClass, initiated: new Date().toISOString() };
    const bytes = new TextEncoder().encode(JSON.stringify(meta));
    try {
      await writeFileAtomic(
        join(this.uploadFolder(uploadId), UPLOAD_META_FILE),
        (file) => writeAll(file, bytes),
      );
    } catch (error) {
      throw classifyFsError(error, operation, "transient");
    }
    return uploadId;
  }

  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
  ): Promise<string> {
    const operation = `upload of part ${partNumber} of ${quote(key)}`;
    if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > MAX_PART_NUMBER) {
      throw new StorageError(
        "permanent",
        `${operation} failed: part numbers go from 1 to ${MAX_PART_NUMBER}`,
      );
    }
    await this.readUploadMeta(key, uploadId, operation);
    try {
      // No folder creation: an upload aborted meanwhile must stay gone.
      await writeFileAtomic(
        join(this.uploadFolder(uploadId), partFileName(partNumber)),
        (file) => writeAll(file, body),
        { createFolders: false },
      );
    } catch (error) {
      throw classifyFsError(error, operation, "not-found");
    }
    return quoteEtag(createHash("md5").update(body).digest("hex"));
  }

  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const operation = `listing of uploaded parts of ${quote(key)}`;
    await this.readUploadMeta(key, uploadId, operation);
    const folder = this.uploadFolder(uploadId);
    try {
      const parts: UploadedPart[] = [];
      for await (const entry of Deno.readDir(folder)) {
        if (!entry.isFile || !/^\d{5}$/.test(entry.name)) continue;
        const path = join(folder, entry.name);
        const { size, md5 } = await digestFile(path);
        parts.push({ partNumber: Number(entry.name), etag: quoteEtag(md5), size });
      }
      return parts.sort((a, b) => a.partNumber - b.partNumber);
    } catch (error) {
      throw classifyFsError(error, operation, "not-found");
    }
  }

  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: { partNumber: number; etag: string }[],
  ): Promise<void> {
    const operation = `completion of multipart upload of ${quote(key)}`;
    const path = this.objectPath(key, operation);
    const meta = await this.readUploadMeta(key, uploadId, operation);
    const folder = this.uploadFolder(uploadId);
    const partPaths = await this.checkPartList(folder, parts, operation);
    try {
      await this.saveStorageClass(key, meta.storageClass);
      await writeFileAtomic(path, async (file) => {
        for (const [index, part] of parts.entries()) {
          const md5 = await appendFile(file, partPaths[index]);
          if (quoteEtag(md5) !== quoteEtag(part.etag.replaceAll('"', ""))) {
            throw new StorageError(
              "permanent",
              `${operation} failed: InvalidPart: part ${part.partNumber} does not match ETag ` +
                `${part.etag}`,
            );
          }
        }
      });
      await removeIfPresent(folder, { recursive: true });
    } catch (error) {
      throw classifyFsError(error, operation, "not-found");
    }
  }

  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    const operation = `abort of multipart upload of ${quote(key)}`;
    try {
      await this.readUploadMeta(key, uploadId, operation);
    } catch (error) {
      if (error instanceof StorageError && error.kind === "not-found") return;
      throw error;
    }
    try {
      await removeIfPresent(this.uploadFolder(uploadId), { recursive: true });
    } catch (error) {
      throw classifyFsError(error, operation, "transient");
    }
  }

  async listMultipartUploads(prefix: string): Promise<PendingUpload[]> {
    const operation = `listing of unfinished uploads under ${quote(prefix)}`;
    const uploads: PendingUpload[] = [];
    try {
      for await (const entry of Deno.readDir(join(this.root, UPLOADS_FOLDER))) {
        if (!entry.isDirectory || !/^[0-9a-f]+$/.test(entry.name)) continue;
        const meta = await this.readUploadMetaFile(entry.name).catch(() => undefined);
        if (!meta || !meta.key.startsWith(prefix)) continue;
        uploads.push({ key: meta.key, uploadId: entry.name, initiated: new Date(meta.initiated) });
      }
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return [];
      throw classifyFsError(error, operation, "transient");
    }
    return uploads.sort((a, b) =>
      compareKeys(a.key, b.key) || (a.initiated?.getTime() ?? 0) - (b.initiated?.getTime() ?? 0)
    );
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
    return join(this.root, META_FOLDER, ...key.split("/"));
  }

  private uploadFolder(uploadId: string): string {
    return join(this.root, UPLOADS_FOLDER, uploadId);
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

  private async readUploadMeta(
    key: string,
    uploadId: string,
    operation: string,
  ): Promise<UploadMeta> {
    const missing = () =>
      new StorageError(
        "not-found",
        `${operation} failed: NoSuchUpload: upload ${uploadId} does not exist`,
      );
    if (!/^[0-9a-f]{1,64}$/.test(uploadId)) throw missing();
    let meta: UploadMeta;
    try {
      meta = await this.readUploadMetaFile(uploadId);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) throw missing();
      throw classifyFsError(error, operation, "not-found");
    }
    if (meta.key !== key) throw missing();
    return meta;
  }

  private async readUploadMetaFile(uploadId: string): Promise<UploadMeta> {
    const text = await Deno.readTextFile(join(this.uploadFolder(uploadId), UPLOAD_META_FILE));
    const meta = JSON.parse(text) as UploadMeta;
    if (typeof meta.key !== "string" || typeof meta.storageClass !== "string") {
      throw new StorageError("permanent", `upload ${uploadId} has unreadable metadata`);
    }
    return meta;
  }

  /** Checks the part list as S3 would and returns the part files, in order. */
  private async checkPartList(
    folder: string,
    parts: { partNumber: number; etag: string }[],
    operation: string,
  ): Promise<string[]> {
    const fail = (why: string) => new StorageError("permanent", `${operation} failed: ${why}`);
    if (parts.length === 0) throw fail("MalformedXML: no parts given");
    const paths: string[] = [];
    for (const [index, part] of parts.entries()) {
      if (index > 0 && part.partNumber <= parts[index - 1].partNumber) {
        throw fail("InvalidPartOrder: parts must be listed in ascending order");
      }
      const path = join(folder, partFileName(part.partNumber));
      let size: number;
      try {
        size = (await Deno.stat(path)).size;
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          throw fail(`InvalidPart: part ${part.partNumber} was not uploaded`);
        }
        throw classifyFsError(error, operation, "transient");
      }
      if (index < parts.length - 1 && size < MIN_PART_SIZE) {
        throw fail(
          `EntityTooSmall: part ${part.partNumber} has ${size} bytes; all but the last part ` +
            `need at least ${MIN_PART_SIZE}`,
        );
      }
      paths.push(path);
    }
    return paths;
  }
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

function partFileName(partNumber: number): string {
  return String(partNumber).padStart(5, "0");
}

function quoteEtag(md5: string): string {
  return `"${md5}"`;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/** Size and hex MD5 of a file, read in chunks. */
async function digestFile(path: string): Promise<{ size: number; md5: string }> {
  using file = await Deno.open(path, { read: true });
  const hash = createHash("md5");
  const buffer = new Uint8Array(CHUNK_SIZE);
  let size = 0;
  while (true) {
    const read = await file.read(buffer);
    if (read === null) break;
    hash.update(buffer.subarray(0, read));
    size += read;
  }
  return { size, md5: hash.digest("hex") };
}

/** Appends the file at `path` to `target` in chunks; returns the hex MD5 of what it copied. */
async function appendFile(target: Deno.FsFile, path: string): Promise<string> {
  using source = await Deno.open(path, { read: true });
  const hash = createHash("md5");
  const buffer = new Uint8Array(CHUNK_SIZE);
  while (true) {
    const read = await source.read(buffer);
    if (read === null) break;
    const chunk = buffer.subarray(0, read);
    hash.update(chunk);
    await writeAll(target, chunk);
  }
  return hash.digest("hex");
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
