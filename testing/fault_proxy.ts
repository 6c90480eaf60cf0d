/**
 * A TCP proxy that sits between the program and an S3 server (moto) and injects network faults
 * into a chosen share of HTTP requests, to prove that backups ride them out:
 *
 * - `reset`: the connection is closed abruptly, either partway through the request (the server
 *   sees half a request) or after the server answered (the operation happened, its answer is
 *   lost: the nastiest case for a client);
 * - `stall`: the answer is held for `stallMs`, then either delivered or dropped with a reset;
 * - `truncate`: the answer is cut short (mid-headers or mid-body) and the connection closed;
 * - `http500` / `http503`: the request never reaches the server; the proxy answers S3's
 *   `InternalError` / `SlowDown` itself.
 *
 * Apart from faults, the proxy can rewrite answers the way a bucket with SSE-KMS default
 * encryption answers (`rewriteEtags`): each PutObject and UploadPart answer gets a random 32-digit
 * ETag that is not the MD5 of the bytes, optionally with `x-amz-server-side-encryption: aws:kms`;
 * the proxy puts the server's own ETags back into CompleteMultipartUpload requests, as S3 would
 * accept its KMS ETags there. The same answers can also lose the CRC32 the server echoes (as from
 * a server that ignores checksums) or have it altered (as if the bytes arrived altered).
 *
 * The proxy understands just enough HTTP/1.1 (Content-Length and chunked bodies, `100 Continue`,
 * HEAD) to know where each request and response ends on a keep-alive connection. Whether a request
 * gets a fault, and which, is drawn from a generator seeded by the proxy's seed and the request's
 * identity (method, object name without the backup id, which query parameters, part number, and
 * how many times that same request was seen), so a failing run replays with the same seed even
 * though parallel uploads interleave differently.
 */
import { BACKUP_ID_PATTERN } from "../lib/archive/layout.ts";
import { hashSeed, seededRandom } from "./seeded_random.ts";

/** The kinds of fault the proxy injects. */
export type FaultKind = "reset" | "stall" | "truncate" | "http500" | "http503";

/** Every fault kind. */
export const FAULT_KINDS: readonly FaultKind[] = [
  "reset",
  "stall",
  "truncate",
  "http500",
  "http503",
];

/** Settings of a fault proxy. */
export interface FaultProxyOptions {
  /** Where requests go, e.g. moto's `127.0.0.1` and port. */
  target: { hostname: string; port: number };
  /** Share of requests that get a fault, 0..1. */
  rate: number;
  /** Seed of the fault decisions (the same seed replays the same decisions). */
  seed: number;
  /** Kinds to draw from (default: all). */
  kinds?: readonly FaultKind[];
  /** How long a stall holds an answer (default 2000 ms). */
  stallMs?: number;
  /**
   * Replace the ETag of every PutObject and UploadPart answer by a random 32-digit value, and
   * add `x-amz-server-side-encryption: aws:kms` to those answers when `kmsHeader` is true.
   * `checksums`: what becomes of the answers' `x-amz-checksum-crc32`: kept (default), dropped,
   * or altered.
   */
  rewriteEtags?: { kmsHeader: boolean; checksums?: "keep" | "drop" | "alter" };
}

/** What the proxy has seen and done so far. */
export interface FaultCounts {
  connections: number;
  requests: number;
  /** Faults injected, by kind. */
  injected: Record<FaultKind, number>;
  /** Connections that failed for other reasons (a client giving up, the server closing). */
  otherErrors: number;
  /** Answers whose ETag was rewritten (`rewriteEtags`). */
  rewrittenEtags: number;
  /** UploadPart requests that carried a `Content-MD5`. */
  md5Parts: number;
}

/** One injected fault, for replay and debugging. */
export interface FaultRecord {
  kind: FaultKind;
  /** Request line, e.g. `PUT /bucket/key?partNumber=2&uploadId=...`. */
  request: string;
  /** Where the fault struck, e.g. `after-response`. */
  detail: string;
}

/** A running fault proxy. */
export interface FaultProxy {
  /** `http://127.0.0.1:PORT`, to use as the S3 endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** Counts so far. */
  counts(): FaultCounts;
  /** Every fault injected so far, in order. */
  faults(): FaultRecord[];
  /** Changes the fault rate from now on (0 turns faults off). */
  setRate(rate: number): void;
  /** Stops listening, closes every connection and waits for them. */
  close(): Promise<void>;
}

/** Largest request or response head accepted. */
const MAX_HEAD_BYTES = 64 * 1024;
const READ_SIZE = 64 * 1024;

/** Starts a fault proxy on a free loopback port. */
export function startFaultProxy(options: FaultProxyOptions): FaultProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const state = new ProxyState(options);
  const handlers = new Set<Promise<void>>();
  const accepting = (async () => {
    for await (const conn of listener) {
      state.counts.connections++;
      const handler = new ConnectionHandler(conn, state).run().catch(() => {
        state.counts.otherErrors++;
      });
      handlers.add(handler);
      handler.finally(() => handlers.delete(handler));
    }
  })().catch(() => {});
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    counts: () => structuredClone(state.counts),
    faults: () => [...state.records],
    setRate: (rate) => {
      state.rate = rate;
    },
    close: () =>
      closed ??= (async () => {
        state.closing = true;
        listener.close();
        await accepting;
        for (const conn of state.open) closeQuietly(conn);
        await Promise.all(handlers);
      })(),
  };
}

/** Total faults injected, of every kind. */
export function totalFaults(counts: FaultCounts): number {
  return Object.values(counts.injected).reduce((a, b) => a + b, 0);
}

/** One line such as `412 requests, 41 faults (reset 9, stall 8, ...)`. */
export function describeCounts(counts: FaultCounts): string {
  const kinds = FAULT_KINDS.map((kind) => `${kind} ${counts.injected[kind]}`).join(", ");
  return `${counts.requests} requests on ${counts.connections} connections, ` +
    `${totalFaults(counts)} faults injected (${kinds})`;
}

/** What the proxy decided for one request. */
interface Decision {
  kind: FaultKind | undefined;
  /** Uniform numbers that place the fault (which variant, how many bytes through). */
  variant: number;
  position: number;
}

class ProxyState {
  rate: number;
  closing = false;
  readonly counts: FaultCounts = {
    connections: 0,
    requests: 0,
    injected: { reset: 0, stall: 0, truncate: 0, http500: 0, http503: 0 },
    otherErrors: 0,
    rewrittenEtags: 0,
    md5Parts: 0,
  };
  /** Rewritten ETag -> the server's own (`rewriteEtags`). */
  readonly serverEtags = new Map<string, string>();
  readonly records: FaultRecord[] = [];
  readonly open = new Set<Deno.Conn>();
  readonly #seen = new Map<string, number>();

  constructor(readonly options: FaultProxyOptions) {
    this.rate = options.rate;
  }

  get stallMs(): number {
    return this.options.stallMs ?? 2000;
  }

  /** Draws the fault (or none) for a request, from its identity and how often it was seen. */
  decide(method: string, target: string): Decision {
    this.counts.requests++;
    const identity = requestIdentity(method, target);
    const seen = (this.#seen.get(identity) ?? 0) + 1;
    this.#seen.set(identity, seen);
    const random = seededRandom(hashSeed(this.options.seed, `${identity}#${seen}`));
    const kinds = this.options.kinds ?? FAULT_KINDS;
    const hit = random() < this.rate && kinds.length > 0;
    const kind = hit ? kinds[Math.floor(random() * kinds.length)] : undefined;
    return { kind, variant: random(), position: random() };
  }

  record(kind: FaultKind, request: string, detail: string): void {
    this.counts.injected[kind]++;
    this.records.push({ kind, request, detail });
  }
}

/**
 * A request's identity for seeding: method, path with backup ids (`YYYYMMDD_HHMMSS`) and upload
 * ids left out, the names of its query parameters and its part number.
 */
export function requestIdentity(method: string, target: string): string {
  const url = new URL(target, "http://proxy");
  const names = [...new Set(url.searchParams.keys())].sort().join(",");
  const part = url.searchParams.get("partNumber") ?? "";
  const path = decodeURIComponent(url.pathname).replace(new RegExp(BACKUP_ID_PATTERN, "g"), "ID");
  return `${method} ${path} ?${names} ${part}`;
}

/** Where a relayed body goes. */
interface Sink {
  write(bytes: Uint8Array): Promise<void>;
}

/** Thrown by a `CuttingSink` when it has let its share of bytes through. */
class Cut extends Error {}

/** Where relayed bytes go: a connection, optionally cut after `limit` bytes, or nowhere. */
class CuttingSink {
  written = 0;
  constructor(readonly conn: Deno.Conn | undefined, readonly limit = Infinity) {}

  async write(bytes: Uint8Array): Promise<void> {
    const room = this.limit - this.written;
    const part = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (this.conn) await writeAll(this.conn, part);
    this.written += part.length;
    if (part.length < bytes.length) throw new Cut();
  }
}

/** A connection with a read buffer, for finding the ends of HTTP heads, lines and bodies. */
class BufferedConn {
  #buffer = new Uint8Array(0);
  constructor(readonly conn: Deno.Conn) {}

  /** Reads more bytes into the buffer; false at end of stream. */
  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(READ_SIZE);
    const n = await this.conn.read(chunk);
    if (n === null) return false;
    const joined = new Uint8Array(this.#buffer.length + n);
    joined.set(this.#buffer);
    joined.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = joined;
    return true;
  }

  #take(n: number): Uint8Array {
    const taken = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.subarray(n);
    return taken;
  }

  /** The next head (through the blank line), or null at a clean end of stream. */
  async readHead(): Promise<Uint8Array | null> {
    let searchFrom = 0;
    for (;;) {
      const end = indexOfBlankLine(this.#buffer, searchFrom);
      if (end >= 0) return this.#take(end + 4);
      searchFrom = Math.max(0, this.#buffer.length - 3);
      if (this.#buffer.length > MAX_HEAD_BYTES) throw new Error("HTTP head too large");
      if (!(await this.#fill())) {
        if (this.#buffer.length === 0) return null;
        throw new Error("connection closed mid-head");
      }
    }
  }

  /** The next CRLF-terminated line, CRLF included. */
  async readLine(): Promise<Uint8Array> {
    for (;;) {
      const end = this.#buffer.indexOf(10);
      if (end >= 0) return this.#take(end + 1);
      if (this.#buffer.length > MAX_HEAD_BYTES) throw new Error("line too long");
      if (!(await this.#fill())) throw new Error("connection closed mid-line");
    }
  }

  /** Up to `max` bytes (at least one), or null at end of stream. */
  async readSome(max: number): Promise<Uint8Array | null> {
    if (this.#buffer.length === 0 && !(await this.#fill())) return null;
    return this.#take(Math.min(max, this.#buffer.length));
  }
}

/** How a message body is delimited. */
type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "until-close" };

/** A parsed head: first line and headers (names lower-cased). */
interface Head {
  raw: Uint8Array;
  firstLine: string;
  headers: Map<string, string>;
}

function parseHead(raw: Uint8Array): Head {
  const lines = new TextDecoder("latin1").decode(raw).split("\r\n");
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { raw, firstLine: lines[0], headers };
}

function requestFraming(head: Head): Framing {
  if (/\bchunked\b/i.test(head.headers.get("transfer-encoding") ?? "")) return { kind: "chunked" };
  const length = Number(head.headers.get("content-length") ?? "0");
  return length > 0 ? { kind: "length", length } : { kind: "none" };
}

function responseFraming(head: Head, status: number, method: string): Framing {
  if (method === "HEAD" || status === 204 || status === 304) return { kind: "none" };
  if (/\bchunked\b/i.test(head.headers.get("transfer-encoding") ?? "")) return { kind: "chunked" };
  const length = head.headers.get("content-length");
  if (length === undefined) return { kind: "until-close" };
  return Number(length) > 0 ? { kind: "length", length: Number(length) } : { kind: "none" };
}

/** Copies one body from `source` to `sink`, following its framing byte for byte. */
async function relayBody(source: BufferedConn, sink: Sink, framing: Framing) {
  switch (framing.kind) {
    case "none":
      return;
    case "length":
      return await relayBytes(source, sink, framing.length);
    case "until-close":
      for (
        let chunk = await source.readSome(READ_SIZE);
        chunk;
        chunk = await source.readSome(READ_SIZE)
      ) {
        await sink.write(chunk);
      }
      return;
    case "chunked":
      for (;;) {
        const line = await source.readLine();
        await sink.write(line);
        const size = parseInt(new TextDecoder().decode(line).split(";")[0].trim(), 16);
        if (!Number.isFinite(size)) throw new Error("bad chunk size");
        if (size === 0) {
          for (;;) {
            const trailer = await source.readLine();
            await sink.write(trailer);
            if (trailer.length <= 2) return;
          }
        }
        await relayBytes(source, sink, size + 2);
      }
  }
}

async function relayBytes(source: BufferedConn, sink: Sink, length: number) {
  let remaining = length;
  while (remaining > 0) {
    const chunk = await source.readSome(Math.min(remaining, READ_SIZE));
    if (!chunk) throw new Error("connection closed mid-body");
    await sink.write(chunk);
    remaining -= chunk.length;
  }
}

/** Serves one client connection, request after request. */
class ConnectionHandler {
  readonly #client: BufferedConn;
  #upstream: BufferedConn | undefined;

  constructor(client: Deno.Conn, readonly state: ProxyState) {
    this.#client = new BufferedConn(client);
    state.open.add(client);
  }

  async run(): Promise<void> {
    try {
      while (!this.state.closing) {
        const raw = await this.#client.readHead();
        if (raw === null) return;
        const head = parseHead(raw);
        const [method = "", target = "/"] = head.firstLine.split(" ");
        const decision = this.state.decide(method, target);
        if (head.headers.has("content-md5") && /[?&]partNumber=/.test(target)) {
          this.state.counts.md5Parts++;
        }
        const keepGoing = await this.#serve(head, method, decision);
        if (!keepGoing) return;
      }
    } catch (error) {
      if (!(error instanceof Cut) && !this.state.closing) throw error;
    } finally {
      closeQuietly(this.#client.conn);
      this.state.open.delete(this.#client.conn);
      if (this.#upstream) {
        closeQuietly(this.#upstream.conn);
        this.state.open.delete(this.#upstream.conn);
      }
    }
  }

  /** Handles one request; false when the connection must close afterwards. */
  async #serve(head: Head, method: string, decision: Decision): Promise<boolean> {
    const { kind, variant, position } = decision;
    const request = head.firstLine.replace(/ HTTP\/1\.[01]$/, "");
    let framing = requestFraming(head);
    const expectsContinue = /100-continue/i.test(head.headers.get("expect") ?? "");

    if (kind === "http500" || kind === "http503") {
      if (!expectsContinue) await relayBody(this.#client, new CuttingSink(undefined), framing);
      this.state.record(kind, request, "answered by the proxy");
      await writeAll(this.#client.conn, fakeErrorResponse(kind === "http500" ? 500 : 503, method));
      return false;
    }

    const upstream = await this.#connectUpstream();
    if (this.state.options.rewriteEtags && isCompletion(method, request)) {
      ({ head, framing } = await this.#restoreServerEtags(head, framing));
    }
    if (kind === "reset" && variant < 0.5) {
      // Cut the request partway: the server gets half a request, the client a closed connection.
      const length = head.raw.length + (framing.kind === "length" ? framing.length : 0);
      const cutAt = Math.floor(position * length);
      this.state.record(kind, request, `mid-request after ${cutAt} of ${length} bytes`);
      const sink = new CuttingSink(upstream.conn, cutAt);
      await sink.write(head.raw);
      await relayBody(this.#client, sink, framing);
      throw new Cut();
    }

    await writeAll(upstream.conn, head.raw);
    let bodyDone = false;
    const body = relayBody(this.#client, new CuttingSink(upstream.conn), framing).then(() => {
      bodyDone = true;
    });
    // A client that gave up mid-body: the server would wait for the rest for ever.
    body.catch(() => closeQuietly(upstream.conn));
    const keepAlive = await this.#relayResponse(upstream, method, request, decision);
    if (!keepAlive) return false;
    await Promise.race([body, new Promise((resolve) => setTimeout(resolve, 0))]);
    // A server that answered before reading the whole body leaves the connection unusable.
    return bodyDone;
  }

  /** Relays the response (after any `100 Continue`), applying the fault; false to close. */
  async #relayResponse(
    upstream: BufferedConn,
    method: string,
    request: string,
    decision: Decision,
  ): Promise<boolean> {
    const { kind, variant, position } = decision;
    for (;;) {
      const raw = await upstream.readHead();
      if (raw === null) throw new Error("the server closed the connection");
      const head = parseHead(raw);
      const status = Number(head.firstLine.split(" ")[1]);
      if (status >= 100 && status < 200) {
        await writeAll(this.#client.conn, raw);
        continue;
      }
      const framing = responseFraming(head, status, method);
      if (kind === "reset") {
        this.state.record(kind, request, `after the server answered ${status}: answer lost`);
        throw new Cut();
      }
      if (kind === "stall") {
        const drop = variant < 0.5;
        this.state.record(
          kind,
          request,
          `answer ${status} held ${this.state.stallMs} ms, then ${drop ? "dropped" : "delivered"}`,
        );
        await new Promise((resolve) => setTimeout(resolve, this.state.stallMs));
        if (drop) throw new Cut();
      }
      if (kind === "truncate") {
        const bodyLength = framing.kind === "length" ? framing.length : 0;
        if (bodyLength === 0 && framing.kind !== "chunked") {
          const cutAt = 1 + Math.floor(position * (raw.length - 1));
          this.state.record(kind, request, `answer ${status} cut after ${cutAt} header bytes`);
          await new CuttingSink(this.#client.conn, cutAt).write(raw);
          throw new Cut();
        }
        const cutAt = Math.floor(position * (bodyLength || 4096));
        this.state.record(kind, request, `answer ${status} cut after ${cutAt} body bytes`);
        await writeAll(this.#client.conn, raw);
        await relayBody(upstream, new CuttingSink(this.#client.conn, cutAt), framing);
        throw new Cut();
      }
      await writeAll(this.#client.conn, this.#rewriteEtag(raw, head, method, request));
      await relayBody(upstream, new CuttingSink(this.#client.conn), framing);
      const closing = /\bclose\b/i.test(head.headers.get("connection") ?? "") ||
        framing.kind === "until-close";
      return !closing;
    }
  }

  /**
   * Reads a CompleteMultipartUpload request's body and puts the server's ETags back in place of
   * the rewritten ones; the request goes on from the buffered copy.
   */
  async #restoreServerEtags(
    head: Head,
    framing: Framing,
  ): Promise<{ head: Head; framing: Framing }> {
    if (framing.kind !== "length") return { head, framing };
    const sink = new CollectingSink();
    await relayBody(this.#client, sink, framing);
    let xml = new TextDecoder().decode(sink.bytes());
    for (const [fake, real] of this.state.serverEtags) xml = xml.replaceAll(fake, real);
    const body = new TextEncoder().encode(xml);
    const text = new TextDecoder("latin1").decode(head.raw)
      .replace(/\r\ncontent-length:[^\r]*/i, `\r\nContent-Length: ${body.length}`);
    const headBytes = new TextEncoder().encode(text);
    const raw = new Uint8Array(headBytes.length + body.length);
    raw.set(headBytes);
    raw.set(body, headBytes.length);
    return { head: { ...parseHead(headBytes), raw }, framing: { kind: "none" } };
  }

  /** A PutObject or UploadPart answer with a random ETag (and an SSE-KMS header if asked). */
  #rewriteEtag(raw: Uint8Array, head: Head, method: string, request: string): Uint8Array {
    const rewrite = this.state.options.rewriteEtags;
    const status = Number(head.firstLine.split(" ")[1]);
    const etag = head.headers.get("etag");
    if (!rewrite || method !== "PUT" || status !== 200 || !etag || isOtherPut(request)) return raw;
    const fake = [...crypto.getRandomValues(new Uint8Array(16))]
      .map((byte) => byte.toString(16).padStart(2, "0")).join("");
    this.state.serverEtags.set(fake, etag.replaceAll('"', ""));
    this.state.counts.rewrittenEtags++;
    const checksums = rewrite.checksums ?? "keep";
    const lines = new TextDecoder("latin1").decode(raw).split("\r\n")
      .filter((line) => !/^x-amz-server-side-encryption:/i.test(line))
      .filter((line) => checksums !== "drop" || !/^x-amz-checksum-crc32:/i.test(line))
      .map((line) => /^etag:/i.test(line) ? `ETag: "${fake}"` : line)
      .map((line) =>
        checksums === "alter" && /^x-amz-checksum-crc32:/i.test(line)
          ? "x-amz-checksum-crc32: AAAAAA=="
          : line
      );
    if (rewrite.kmsHeader) lines.splice(1, 0, "x-amz-server-side-encryption: aws:kms");
    return new TextEncoder().encode(lines.join("\r\n"));
  }

  async #connectUpstream(): Promise<BufferedConn> {
    if (!this.#upstream) {
      const conn = await Deno.connect({ ...this.state.options.target, transport: "tcp" });
      this.state.open.add(conn);
      this.#upstream = new BufferedConn(conn);
    }
    return this.#upstream;
  }
}

/** Gathers a request body instead of relaying it. */
class CollectingSink implements Sink {
  readonly #chunks: Uint8Array[] = [];
  write(bytes: Uint8Array): Promise<void> {
    this.#chunks.push(bytes.slice());
    return Promise.resolve();
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.#chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of this.#chunks) out.set(chunk, (offset += chunk.length) - chunk.length);
    return out;
  }
}

/** True for a CompleteMultipartUpload request line (`POST /bucket/key?uploadId=...`). */
function isCompletion(method: string, request: string): boolean {
  return method === "POST" && new URL(request.split(" ")[1] ?? "/", "http://proxy").searchParams
    .has("uploadId");
}

/** True for a PUT that is neither PutObject nor UploadPart (a bucket or sub-resource request). */
function isOtherPut(request: string): boolean {
  const url = new URL(request.split(" ")[1] ?? "/", "http://proxy");
  const names = [...url.searchParams.keys()].filter((name) => name !== "x-id");
  const isPart = url.searchParams.has("partNumber") && url.searchParams.has("uploadId");
  return !(names.length === 0 || isPart) || url.pathname.split("/").filter(Boolean).length < 2;
}

/** An S3-style error response (`InternalError` or `SlowDown`) that closes the connection. */
function fakeErrorResponse(status: 500 | 503, method: string): Uint8Array {
  const [code, message, reason] = status === 500
    ? [
      "InternalError",
      "We encountered an internal error. Please try again.",
      "Internal Server Error",
    ]
    : ["SlowDown", "Please reduce your request rate.", "Service Unavailable"];
  const body = method === "HEAD"
    ? ""
    : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}` +
      `</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  const bytes = new TextEncoder().encode(body);
  const head = `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/xml\r\n` +
    `Content-Length: ${method === "HEAD" ? 0 : bytes.length}\r\nConnection: close\r\n\r\n`;
  const encodedHead = new TextEncoder().encode(head);
  const out = new Uint8Array(encodedHead.length + bytes.length);
  out.set(encodedHead);
  out.set(bytes, encodedHead.length);
  return out;
}

function indexOfBlankLine(buffer: Uint8Array, from: number): number {
  for (let i = from; i + 3 < buffer.length; i++) {
    if (buffer[i] === 13 && buffer[i + 1] === 10 && buffer[i + 2] === 13 && buffer[i + 3] === 10) {
      return i;
    }
  }
  return -1;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.length) written += await conn.write(bytes.subarray(written));
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
