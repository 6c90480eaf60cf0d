/**
 * The last stage of a volume build, on whichever thread runs it: compressed TAR bytes in, the
 * volume file out. It age-encrypts them (when given recipients: the volume format's outer layer,
 * see volume_format.ts), counts and SHA-256-hashes the bytes it writes, and writes them. It takes
 * the chunks it is given as its own, as the last stage of a stream does, and frees their buffers
 * once done with them (see lib/memory/buffer_release.ts). The catalog copy is sealed with it too.
 */
import { createHash, type Hash } from "node:crypto";
import { AgeEncryptor } from "../crypto/age.ts";
import { SequentialRelease } from "../memory/buffer_release.ts";
import { writeAll } from "../storage/write_all.ts";

/** What a finished volume file is: its size and SHA-256, as written. */
export interface WrittenVolume {
  size: number;
  /** Empty for a file created without its hash (`OutputOptions.hashed`). */
  sha256: string;
}

/** How an output is made. */
export interface OutputOptions {
  /** age recipients to encrypt to; without, the bytes are written as given. */
  recipients?: string[];
  /**
   * Whether the bytes written are SHA-256-hashed (the default): a file no one checks (the
   * catalog copy: 91 MB for 300,000 files, ~45 ms) may go without.
   */
  hashed?: boolean;
}

/** A volume file being written (see the module's doc). */
export class VolumeFileOutput {
  readonly #file: Deno.FsFile;
  readonly #hash: Hash | undefined;
  readonly #encryptor: AgeEncryptor | undefined;
  /** What the encryptor emitted and is not written yet. */
  #encrypted: Uint8Array[] = [];
  /** Frees the buffers of the chunks given, and of the encryptor's batches, once written. */
  readonly #inputs = new SequentialRelease();
  readonly #batches = new SequentialRelease();
  #size = 0;

  private constructor(file: Deno.FsFile, { recipients, hashed = true }: OutputOptions) {
    this.#file = file;
    this.#hash = hashed ? createHash("sha256") : undefined;
    try {
      this.#encryptor = recipients && new AgeEncryptor(recipients, (c) => this.#encrypted.push(c));
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * Creates the file at `path` (which must not exist: `AlreadyExists` otherwise), readable by its
   * owner only.
   */
  static async create(path: string, options: OutputOptions = {}): Promise<VolumeFileOutput> {
    // Never an existing name: one planted in its place (a link to another file) is refused.
    const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
    return new VolumeFileOutput(file, options);
  }

  /** Encrypts (when asked) and writes `chunk`; its buffer is freed once done with. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.#encryptor) {
      // The encryptor copies or seals the chunk before it returns.
      this.#encryptor.push(chunk);
      await this.#putEncrypted();
    } else {
      await this.#put(chunk);
    }
    // Chunks come as their producer (a compressor, the TAR batcher) filled its buffers: front to
    // back, never returning to one it left.
    this.#inputs.consumed(chunk);
  }

  /** Writes what is left, closes the file and returns its size and SHA-256. */
  async close(): Promise<WrittenVolume> {
    this.#encryptor?.finish();
    await this.#putEncrypted();
    this.#inputs.finish();
    this.#batches.finish();
    // No fsync: a resume re-checks a built volume against its SHA-256 before sending it.
    this.#file.close();
    return { size: this.#size, sha256: this.#hash?.digest("hex") ?? "" };
  }

  /** Closes the file, written or not (after a failure). */
  abandon(): void {
    try {
      this.#file.close();
    } catch {
      // Closed already.
    }
  }

  async #putEncrypted(): Promise<void> {
    const batches = this.#encrypted;
    this.#encrypted = [];
    // The encryptor fills its batches front to back and never returns to one it emitted.
    for (const batch of batches) {
      await this.#put(batch);
      this.#batches.consumed(batch);
    }
  }

  async #put(bytes: Uint8Array): Promise<void> {
    this.#hash?.update(bytes);
    this.#size += bytes.length;
    await writeAll(this.#file, bytes);
  }
}
