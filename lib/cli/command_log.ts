/**
 * A command's run with its log open: whatever ends the command, a returned exit code or a thrown
 * error, is written to `logs/main.log` before the log is closed, so the log tells how every run
 * ended (main.ts prints the same error line on the terminal).
 */
import { exitCodeFor } from "./exit.ts";
import { errorLine } from "../archive/errors.ts";
import { Logger } from "./log.ts";

/**
 * Opens the log of `stateDir`, runs `body` with it and records how `command` ended: its exit
 * code, and for a thrown error the `error: ...` line main.ts prints (the error is rethrown).
 */
export async function withCommandLog(
  stateDir: string,
  command: string,
  body: (log: Logger) => Promise<number>,
): Promise<number> {
  const log = await Logger.open(stateDir);
  try {
    const code = await body(log);
    log.toFile("info", `${command} ended with exit code ${code}`);
    return code;
  } catch (error) {
    log.toFile("error", errorLine(error));
    log.toFile("info", `${command} ended with exit code ${exitCodeFor(error)}`);
    throw error;
  } finally {
    log.close();
  }
}
