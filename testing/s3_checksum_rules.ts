/**
 * An HTTP proxy in front of moto that holds multipart uploads to Amazon S3's checksum rules, which
 * moto does not enforce (moto accepts any completion):
 *
 * - an upload created with `x-amz-checksum-algorithm: CRC32` takes only parts that carry
 *   `x-amz-checksum-crc32`, and its completion must name each part's CRC32, the one the part was
 *   sent with (`InvalidRequest`, `InvalidPart`);
 * - the completion of an upload created without an algorithm must name no part checksum
 *   (`InvalidPart`).
 *
 * ListParts answers can also say the upload's algorithm, as S3's do (`<ChecksumAlgorithm>`), or
 * stay silent about it, as moto's do (`listAlgorithm`). Bodies are buffered: for small tests only.
 */

/** A running rules proxy. */
export interface ChecksumRulesProxy {
  /** `http://127.0.0.1:PORT`, to use as the S3 endpoint. */
  readonly endpoint: string;
  /** Completions let through, and refused, so far. */
  readonly completions: { accepted: number; refused: string[] };
  /** Stops the proxy. */
  close(): Promise<void>;
}

/** Settings of a rules proxy. */
export interface ChecksumRulesOptions {
  /** The S3 server behind, e.g. moto's `http://127.0.0.1:PORT`. */
  target: string;
  /** Whether ListParts answers name the upload's checksum algorithm, as S3's do (default true). */
  listAlgorithm?: boolean;
}

interface UploadRecord {
  /** `CRC32`, ..., or "" for an upload created without an algorithm. */
  algorithm: string;
  /** The `x-amz-checksum-crc32` each part was sent with, by part number. */
  partCrc32s: Map<number, string>;
}

/** Starts a rules proxy on a free loopback port. */
export function startChecksumRulesProxy(options: ChecksumRulesOptions): ChecksumRulesProxy {
  const uploads = new Map<string, UploadRecord>();
  const completions = { accepted: 0, refused: [] as string[] };
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const url = new URL(request.url);
      let body: Uint8Array | undefined;
      try {
        body = request.body ? new Uint8Array(await request.arrayBuffer()) : undefined;
      } catch {
        // The client went away mid-request (the crash test kills runs): no one reads an answer.
        return new Response(null, { status: 400 });
      }
      const uploadId = url.searchParams.get("uploadId");
      const upload = uploadId === null ? undefined : uploads.get(uploadId);
      const partNumber = Number(url.searchParams.get("partNumber"));
      const crc32Header = request.headers.get("x-amz-checksum-crc32");

      if (request.method === "PUT" && upload && partNumber > 0) {
        if (upload.algorithm === "CRC32" && !crc32Header) {
          return s3Error(
            "InvalidRequest",
            "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum " +
              "Type: null",
          );
        }
      }
      if (request.method === "POST" && upload && body) {
        const refusal = completionRefusal(upload, new TextDecoder().decode(body));
        if (refusal) {
          completions.refused.push(refusal.message);
          return s3Error(refusal.code, refusal.message);
        }
        completions.accepted++;
      }

      const answer = await forward(options.target, request, url, body);
      if (request.method === "POST" && url.searchParams.has("uploads") && answer.status === 200) {
        const id = /<UploadId>([^<]+)<\/UploadId>/.exec(new TextDecoder().decode(answer.body));
        const algorithm = (request.headers.get("x-amz-checksum-algorithm") ?? "").toUpperCase();
        if (id) uploads.set(id[1], { algorithm, partCrc32s: new Map() });
      }
      if (request.method === "PUT" && upload && partNumber > 0 && answer.status === 200) {
        if (crc32Header) upload.partCrc32s.set(partNumber, crc32Header);
      }
      if (
        request.method === "GET" && upload?.algorithm && answer.status === 200 &&
        (options.listAlgorithm ?? true)
      ) {
        const xml = new TextDecoder().decode(answer.body).replace(
          "</UploadId>",
          `</UploadId><ChecksumAlgorithm>${upload.algorithm}</ChecksumAlgorithm>`,
        );
        answer.body = new TextEncoder().encode(xml);
        answer.headers.delete("content-length");
      }
      const bodyless = request.method === "HEAD" || answer.status === 204 || answer.status === 304;
      return new Response(bodyless ? null : answer.body, answer);
    },
  );
  return {
    endpoint: `http://127.0.0.1:${server.addr.port}`,
    completions,
    close: () => server.shutdown(),
  };
}

/** Why S3 would refuse this CompleteMultipartUpload body, or undefined if it would not. */
function completionRefusal(
  upload: UploadRecord,
  xml: string,
): { code: string; message: string } | undefined {
  for (const part of xml.match(/<Part>[\s\S]*?<\/Part>/g) ?? []) {
    const partNumber = Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(part)?.[1]);
    const crc32 = /<ChecksumCRC32>([^<]*)<\/ChecksumCRC32>/.exec(part)?.[1];
    const anyChecksum = /<Checksum[A-Z0-9]+>/.test(part);
    if (upload.algorithm === "") {
      if (anyChecksum) {
        return {
          code: "InvalidPart",
          message: `part ${partNumber} names a checksum, but the upload was created without one`,
        };
      }
      continue;
    }
    if (crc32 === undefined) {
      return {
        code: "InvalidRequest",
        message: `The upload was created using a ${upload.algorithm.toLowerCase()} checksum. ` +
          `The complete request must include the checksum for each part. It was missing for ` +
          `part ${partNumber} in the request.`,
      };
    }
    if (crc32 !== upload.partCrc32s.get(partNumber)) {
      return {
        code: "InvalidPart",
        message: `part ${partNumber}: CRC32 ${crc32}, but the part was sent with ` +
          `${upload.partCrc32s.get(partNumber)}`,
      };
    }
  }
  return undefined;
}

/** The request sent on to `target`, and its answer, bodies buffered. */
async function forward(
  target: string,
  request: Request,
  url: URL,
  body: Uint8Array | undefined,
): Promise<{ status: number; headers: Headers; body: Uint8Array<ArrayBuffer> }> {
  const headers = new Headers(request.headers);
  headers.delete("host");
  const answer = await fetch(`${target}${url.pathname}${url.search}`, {
    method: request.method,
    headers,
    body: body as BodyInit | undefined,
  });
  const bytes = new Uint8Array(await answer.arrayBuffer());
  const answerHeaders = new Headers(answer.headers);
  answerHeaders.delete("transfer-encoding");
  if (request.method !== "HEAD") answerHeaders.delete("content-length");
  return { status: answer.status, headers: answerHeaders, body: bytes };
}

/** An S3 error answer with status 400. */
function s3Error(code: string, message: string): Response {
  const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>${message}</Message><RequestId>checksum-rules</RequestId></Error>`;
  return new Response(xml, { status: 400, headers: { "content-type": "application/xml" } });
}
