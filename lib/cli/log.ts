/**
 * The run's log: every line goes to stderr and, time-stamped, to `logs/main.log` under the state
 * folder. Nothing secret is ever passed here (keys are only printed by `key export`, on stdout).
 */
import { join } from "node:path";

/** Severity of a log line. */
export type Level = "info" | "warn" | "error";

/** Where messages go; the progress display clears its line before one is written. */
export class Logger {
  #file: Deno.FsFile | undefined;
  #encoder = new TextEncoder();
  /** Called before a message is written to the terminal (lets the progress line step aside). */
  beforeTerminalWrite: () => void = () => {};
  /** Called after a message was written to the terminal (lets the progress line come back). */
  afterTerminalWrite: () => void = () => {};

  private constructor(file: Deno.FsFile | undefined, readonly logPath: string | undefined) {
    this.#file = file;
  }

  /** A logger that also appends to `DIR/logs/main.log` (created mode 0600 if missing). */
  static async open(stateDir: string): Promise<Logger> {
    const logDir = join(stateDir, "logs");
    const logPath = join(logDir, "main.log");
    try {
      await Deno.mkdir(logDir, { recursive: true, mode: 0o700 });
      const file = await Deno.open(logPath, { append: true, create: true, mode: 0o600 });
      return new Logger(file, logPath);
    } catch {
      // A log that cannot be written must not stop a backup; the terminal still gets everything.
      return new Logger(undefined, undefined);
    }
  }

  /** A logger writing to stderr only. */
  static terminalOnly(): Logger {
    return new Logger(undefined, undefined);
  }

  info(message: string): void {
    this.write("info", message);
  }

  warn(message: string): void {
    this.write("warn", message);
  }

  error(message: string): void {
    this.write("error", message);
  }

  /** Writes a line to the terminal (prefixed for warnings and errors) and to the log file. */
  write(level: Level, message: string): void {
    this.#emit(Deno.stderr, level, message);
  }

  /** Writes a line of a run's summary to stdout (prefixed like `write`) and to the log file. */
  summary(level: Level, message: string): void {
    this.#emit(Deno.stdout, level, message);
  }

  #emit(stream: { writeSync(bytes: Uint8Array): number }, level: Level, message: string): void {
    const prefix = level === "info" ? "" : `${level}: `;
    this.beforeTerminalWrite();
    stream.writeSync(this.#encoder.encode(`${prefix}${message}\n`));
    this.afterTerminalWrite();
    this.toFile(level, message);
  }

  /** Writes a line to the log file only. */
  toFile(level: Level, message: string): void {
    if (!this.#file) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${message}\n`;
    try {
      this.#file.writeSync(this.#encoder.encode(line));
    } catch {
      this.#file = undefined;
    }
  }

  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
