/**
 * Worker side of `VolumeWriterThread` (volume_writer.ts): writes one volume file at a time with
 * `VolumeFileOutput`, handling requests strictly in order, and answers each chunk once written
 * (the main thread sends only a few ahead). At the first error it closes the file, answers with
 * the error by name, message and code (worker_errors.ts), and ignores the rest of that write.
 */
import type { WriterReply, WriterRequest } from "./volume_writer.ts";
import { VolumeFileOutput } from "./volume_file.ts";
import { postedError } from "./worker_errors.ts";

/** The worker's global scope, typed for what this module uses. */
const scope = self as unknown as {
  onmessage: (event: MessageEvent<WriterRequest>) => void;
  postMessage: (message: WriterReply) => void;
};

/** The file being written, and the write it belongs to. */
let current: { id: number; output: VolumeFileOutput } | undefined;
let queue = Promise.resolve();

scope.onmessage = ({ data: request }) => {
  queue = queue.then(() => handle(request));
};

async function handle(request: WriterRequest): Promise<void> {
  const { id } = request;
  if (request.kind === "abort") {
    if (current?.id === id) {
      current.output.abandon();
      current = undefined;
    }
    scope.postMessage({ kind: "aborted", id });
    return;
  }
  if (request.kind !== "open" && current?.id !== id) return; // a write that already failed
  try {
    switch (request.kind) {
      case "open":
        current?.output.abandon();
        current = undefined;
        current = {
          id,
          output: await VolumeFileOutput.create(request.path, {
            recipients: request.recipients,
          }),
        };
        scope.postMessage({ kind: "opened", id });
        break;
      case "chunk":
        await current!.output.write(request.bytes);
        scope.postMessage({ kind: "written", id });
        break;
      case "close": {
        const { size, sha256 } = await current!.output.close();
        current = undefined;
        scope.postMessage({ kind: "closed", id, size, sha256 });
        break;
      }
    }
  } catch (error) {
    current?.output.abandon();
    current = undefined;
    scope.postMessage({ kind: "failed", id, ...postedError(error) });
  }
}
