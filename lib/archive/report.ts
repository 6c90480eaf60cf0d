/**
 * How use cases talk to whoever runs them: they report lines through a `Reporter` and return an
 * `Outcome`; the command that started them decides what the screen shows and the exit code
 * (lib/cli's Logger is the usual reporter, lib/cli/exit.ts maps outcomes to exit codes).
 */

/** Severity of a reported line. */
export type ReportLevel = "info" | "warn" | "error";

/** Where a use case reports what it does. */
export interface Reporter {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Records a line in the run's log only, not on the screen. */
  toFile(level: ReportLevel, message: string): void;
  /**
   * A line of a finished run's summary, the run's report: a command prints it on stdout (apart
   * from progress and warnings on stderr). Without it, the line is reported at its level.
   */
  summary?(level: ReportLevel, message: string): void;
  /** The run's log file, if there is one (messages may point at it). */
  readonly logPath?: string;
}

/** Reports a line of the run's summary: as a summary where the reporter has one, else at `level`. */
export function reportSummary(log: Reporter, level: ReportLevel, message: string): void {
  if (log.summary) log.summary(level, message);
  else log[level](message);
}

/** How a use case ended; the command turns it into an exit code (lib/cli/exit.ts). */
export type Outcome =
  /** Everything asked for was done. */
  | "done"
  /** Done, with something left out or found wrong (skipped files, differences, missing volumes). */
  | "done-with-warnings"
  /** Not done: the input does not allow it (a wrong key, a hostile name) or the user said no. */
  | "refused"
  /** Not done: it failed or was interrupted; running it again continues where it stopped. */
  | "failed"
  /** Stopped at once on the user's second interrupt, without waiting for requests in flight. */
  | "abandoned";
