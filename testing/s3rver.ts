/**
 * A throw-away s3rver (npm `s3rver`, an S3 server written for Node) for tests: `startS3rver()`
 * runs it inside the test process on a free loopback port, keeping its objects in a temporary
 * folder; `stop()` closes it and removes the folder. It is the second S3 server glacier is
 * tested against: it has no storage classes, no RestoreObject and no ListMultipartUploads.
 */
import S3rver from "s3rver";
import type { MotoServer } from "./moto.ts";

/** The keys s3rver accepts (it checks signatures against this one pair). */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };

/** Environment values that point the AWS SDK at an s3rver with its keys. */
export function s3rverAwsEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    AWS_REGION: "us-east-1",
    AWS_ENDPOINT_URL_S3: endpoint,
  };
}

/** A running s3rver; the same shape as a moto server, so tests can take either. */
export type S3rverServer = MotoServer;

/** Starts s3rver on a free loopback port (the OS picks it, so no port can be taken twice). */
export async function startS3rver(): Promise<S3rverServer> {
  const directory = await Deno.makeTempDir({ prefix: "glacier-s3rver-" });
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory });
  let address: { port: number };
  try {
    address = await server.run();
  } catch (error) {
    await Deno.remove(directory, { recursive: true });
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    stop: () =>
      stopped ??= (async () => {
        await server.close();
        await Deno.remove(directory, { recursive: true });
      })(),
  };
}
