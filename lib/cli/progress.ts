/**
 * Progress of a long run shown as one refreshing line on a terminal, or as a plain line every so
 * often otherwise (cron, logs). What the line says is the caller's (e.g. lib/backup/progress.ts).
 */
import type { Logger } from "./log.ts";

/** Shows progress until stopped: a live line on a terminal, periodic log lines otherwise. */
export class ProgressDisplay {
  #timer: ReturnType<typeof setInterval>;
  #onTerminal: boolean;
  #lineShown = false;
  #encoder = new TextEncoder();

  constructor(
    private readonly render: () => string,
    private readonly log: Logger,
    options: { terminal?: boolean; intervalMs?: number } = {},
  ) {
    this.#onTerminal = options.terminal ?? Deno.stderr.isTerminal();
    const envInterval = Number(Deno.env.get("GLACIER_PROGRESS_INTERVAL_MS"));
    const interval = options.intervalMs ??
      (this.#onTerminal
        ? 250
        : Number.isFinite(envInterval) && envInterval > 0
        ? envInterval
        : 30_000);
    this.#timer = setInterval(() => this.#tick(), interval);
    Deno.unrefTimer(this.#timer);
    log.beforeTerminalWrite = () => this.#clearLine();
  }

  #tick(): void {
    const line = this.render();
    if (this.#onTerminal) {
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[K${line}`));
      this.#lineShown = true;
    } else {
      this.log.info(line);
    }
  }

  #clearLine(): void {
    if (!this.#lineShown) return;
    Deno.stderr.writeSync(this.#encoder.encode("\r\x1b[K"));
    this.#lineShown = false;
  }

  /** Stops the display and clears its line. */
  stop(): void {
    clearInterval(this.#timer);
    this.#clearLine();
    this.log.beforeTerminalWrite = () => {};
  }
}
