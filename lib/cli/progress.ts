/**
 * Progress of a long run shown as one refreshing line on a terminal, never wider than the
 * terminal (measured at each refresh, and redrawn at once when it is resized), or as a plain line
 * every so often otherwise (cron, logs). What the line says is the caller's (e.g.
 * lib/backup/progress.ts), given the width it may take.
 */
import type { Logger } from "./log.ts";

/** Draws the progress line in at most `width` characters (no limit when undefined). */
export type RenderProgress = (width?: number) => string;

/** Width assumed when the terminal cannot be measured. */
const FALLBACK_COLUMNS = 80;

/** Shows progress until stopped: a live line on a terminal, periodic log lines otherwise. */
export class ProgressDisplay {
  #timer: ReturnType<typeof setInterval>;
  #onTerminal: boolean;
  #lineShown = false;
  #encoder = new TextEncoder();
  #onResize = () => this.#tick();
  #listeningForResize = false;

  constructor(
    private readonly render: RenderProgress,
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
    // On a terminal the line is there from the start, and comes back right after a log line.
    if (this.#onTerminal) {
      log.afterTerminalWrite = () => this.#tick();
      this.#tick();
    }
    if (this.#onTerminal && Deno.build.os !== "windows") {
      try {
        Deno.addSignalListener("SIGWINCH", this.#onResize);
        this.#listeningForResize = true;
      } catch {
        // no resize signal here: the next refresh measures the terminal anyway
      }
    }
  }

  #tick(): void {
    if (this.#onTerminal) {
      // One column is kept free: a line that fills the last column wraps on some terminals.
      const width = Math.max(terminalColumns() - 1, 1);
      const line = this.render(width).slice(0, width);
      Deno.stderr.writeSync(this.#encoder.encode(`\r\x1b[K${line}`));
      this.#lineShown = true;
    } else {
      this.log.info(this.render());
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
    if (this.#listeningForResize) Deno.removeSignalListener("SIGWINCH", this.#onResize);
    this.#listeningForResize = false;
    this.#clearLine();
    this.log.beforeTerminalWrite = () => {};
    this.log.afterTerminalWrite = () => {};
  }
}

/** The width of the terminal on stderr, or 80 when it cannot be measured. */
function terminalColumns(): number {
  try {
    const { columns } = Deno.consoleSize();
    return columns > 0 ? columns : FALLBACK_COLUMNS;
  } catch {
    return FALLBACK_COLUMNS;
  }
}
