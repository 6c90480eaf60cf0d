/**
 * Worker side of `BackgroundCheck` (background_check.ts): opens the state database it is sent
 * read-only, runs SQLite's quick_check on it, and answers with SQLite's words ("ok" or what is
 * damaged), or the error that stopped it.
 */
import { openReadOnly } from "./open_db.ts";
import type { CheckReply, CheckRequest } from "./background_check.ts";
import { postedError } from "../archive/worker_errors.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<CheckRequest>) => void;
  postMessage: (message: CheckReply) => void;
};

scope.onmessage = ({ data }) => {
  let reply: CheckReply;
  try {
    const db = openReadOnly(data.path);
    try {
      const row = db.prepare("PRAGMA quick_check").get() as { quick_check: string };
      reply = { result: row.quick_check };
    } finally {
      db.close();
    }
  } catch (error) {
    reply = { error: postedError(error) };
  }
  scope.postMessage(reply);
};
