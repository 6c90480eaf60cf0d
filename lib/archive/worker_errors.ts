/**
 * Errors across a worker boundary. An Error does not survive structured cloning as its class, so
 * a worker posts its name, message and code (`postedError`), and the thread that started it
 * builds the same kind of error again (`revivedError`): the project's own error classes and
 * Deno's file errors by name, so that callers and their `instanceof` checks see what the same
 * failure throws on their own thread.
 */
import { AgeError, NoMatchingIdentityError } from "../crypto/errors.ts";
import { ZstdFrameError } from "./zstd_frames.ts";
import { ChecksumError } from "./volume_check.ts";

/** An error as a worker posts it. */
export interface PostedError {
  name: string;
  message: string;
  code?: string;
}

/** The classes a worker's error is revived as, by name, beside `Deno.errors`. */
const OWN_ERRORS: Record<string, new (message: string) => Error> = {
  AgeError,
  ChecksumError,
  NoMatchingIdentityError,
  ZstdFrameError,
};

/** What a worker posts of `error` (anything thrown). */
export function postedError(error: unknown): PostedError {
  const { name, message, code } = (error ?? {}) as Error & { code?: unknown };
  return {
    name: typeof name === "string" ? name : "Error",
    message: typeof message === "string" ? message : String(error),
    code: typeof code === "string" ? code : undefined,
  };
}

/** The posted error as the kind of error the same failure throws on this thread. */
export function revivedError(posted: PostedError): Error {
  const known = Object.hasOwn(OWN_ERRORS, posted.name)
    ? OWN_ERRORS[posted.name]
    : Object.hasOwn(Deno.errors, posted.name)
    ? (Deno.errors as unknown as Record<string, new (message: string) => Error>)[posted.name]
    : undefined;
  const error = known ? new known(posted.message) : new Error(posted.message);
  if (!known) error.name = posted.name;
  if (posted.code !== undefined) (error as Error & { code?: string }).code = posted.code;
  return error;
}
