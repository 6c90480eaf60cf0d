/**
 * The moto launcher: a small loopback HTTP service that starts and stops `moto_server` processes on
 * behalf of a test process that cannot start them itself (Windows Deno under Wine cannot run a
 * Linux program). `testing/windows/run.ts` runs it on the Linux side and hands its URL to the tests
 * in `GLACIER_TEST_MOTO_LAUNCHER`; `startMoto` (testing/moto.ts) then asks it instead of spawning.
 *
 * Protocol: `POST /start` with `{"checkCredentials": boolean}` answers `{"id", "port"}` once the
 * server answers HTTP; `POST /stop?id=ID` answers 204 once it has exited.
 */
import { type MotoServer, spawnMoto } from "./moto.ts";

export { MOTO_LAUNCHER_ENV } from "./moto.ts";

/** A running launcher. */
export interface MotoLauncher {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** How many moto servers it has started so far. */
  started(): number;
  /** Stops every server still running, then the launcher itself. */
  stop(): Promise<void>;
}

/** Starts a launcher on a free loopback port. */
export function startMotoLauncher(): Promise<MotoLauncher> {
  const servers = new Map<number, MotoServer>();
  let count = 0;
  const handler = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    try {
      if (request.method === "POST" && url.pathname === "/start") {
        const options = await request.json() as { checkCredentials?: boolean };
        const server = await spawnMoto({ checkCredentials: options.checkCredentials === true });
        const id = ++count;
        servers.set(id, server);
        return Response.json({ id, port: server.port });
      }
      if (request.method === "POST" && url.pathname === "/stop") {
        const id = Number(url.searchParams.get("id"));
        const server = servers.get(id);
        servers.delete(id);
        await server?.stop();
        return new Response(null, { status: 204 });
      }
      return new Response("not found", { status: 404 });
    } catch (error) {
      return new Response(error instanceof Error ? error.message : String(error), { status: 500 });
    }
  };
  return new Promise((resolve) => {
    const http = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen: ({ port }) =>
        resolve({
          url: `http://127.0.0.1:${port}`,
          started: () => count,
          stop: async () => {
            await Promise.all([...servers.values()].map((server) => server.stop()));
            servers.clear();
            await http.shutdown();
          },
        }),
    }, handler);
  });
}
