/**
 * Where the S3 client's settings come from when the command line leaves them out: the usual AWS
 * environment variables, then the profile's entry in `~/.aws/config` (or `~/.aws/credentials`),
 * then a default. Resolved here rather than by the SDK so that a missing region falls back to
 * `us-east-1` instead of failing, and an unreadable `~/.aws` gets an honest error message.
 */

import { StorageError } from "./storage.ts";

/** Read access to environment variables (`Deno.env`, or a plain map in tests). */
export interface EnvReader {
  get(name: string): string | undefined;
}

/** The region used when nothing else names one. */
export const DEFAULT_REGION = "us-east-1";

/** The endpoint URL: the option, then `AWS_ENDPOINT_URL_S3`, then `AWS_ENDPOINT_URL`, else none. */
export function resolveEndpoint(option: string | undefined, env: EnvReader): string | undefined {
  return nonEmpty(option) ?? nonEmpty(env.get("AWS_ENDPOINT_URL_S3")) ??
    nonEmpty(env.get("AWS_ENDPOINT_URL"));
}

/** The profile name: the option, then `AWS_PROFILE`, else `undefined` (the SDK's `default`). */
export function resolveProfile(option: string | undefined, env: EnvReader): string | undefined {
  return nonEmpty(option) ?? nonEmpty(env.get("AWS_PROFILE"));
}

/**
 * The region: the option, then `AWS_REGION` / `AWS_DEFAULT_REGION`, then the profile's `region` in
 * the AWS config or credentials file, else `us-east-1`. Throws a permanent `StorageError` when an
 * AWS file exists but cannot be read.
 */
export function resolveRegion(
  option: string | undefined,
  profile: string | undefined,
  env: EnvReader,
): string {
  const fromSettings = nonEmpty(option) ?? nonEmpty(env.get("AWS_REGION")) ??
    nonEmpty(env.get("AWS_DEFAULT_REGION"));
  if (fromSettings) return fromSettings;
  const name = profile ?? "default";
  const configFile = nonEmpty(env.get("AWS_CONFIG_FILE")) ?? awsFile(env, "config");
  const credentialsFile = nonEmpty(env.get("AWS_SHARED_CREDENTIALS_FILE")) ??
    awsFile(env, "credentials");
  const configSection = name === "default" ? "default" : `profile ${name}`;
  return regionIn(configFile, configSection) ?? regionIn(credentialsFile, name) ?? DEFAULT_REGION;
}

function regionIn(file: string | undefined, section: string): string | undefined {
  return file === undefined ? undefined : iniValue(readIfPresent(file), section, "region");
}

/** `~/.aws/<name>`, or `undefined` when no home folder is known. */
function awsFile(env: EnvReader, name: string): string | undefined {
  const home = env.get("HOME") ?? env.get("USERPROFILE");
  if (!home) return undefined;
  const separator = home.includes("\\") && !home.includes("/") ? "\\" : "/";
  return [home.replace(/[\\/]+$/, ""), ".aws", name].join(separator);
}

function readIfPresent(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return "";
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new StorageError(
        "permanent",
        `cannot read AWS settings file ${path}: permission denied (fix its permissions, or set ` +
          `--region and credentials through AWS_* environment variables)`,
        { cause: error },
      );
    }
    return "";
  }
}

/**
 * A `key = value` from one `[section]` of an AWS-style INI file. Indented lines belong to nested
 * settings (`s3 =` blocks) and are skipped.
 */
export function iniValue(text: string, section: string, key: string): string | undefined {
  let inSection = false;
  for (const rawLine of text.split(/\r?\n/)) {
    if (/^\s*([#;].*)?$/.test(rawLine)) continue;
    const header = /^\s*\[\s*([^\]]*?)\s*\]/.exec(rawLine);
    if (header) {
      inSection = header[1].replace(/\s+/g, " ") === section;
      continue;
    }
    if (!inSection || /^\s/.test(rawLine)) continue;
    const assignment = /^([^=]+?)\s*=\s*(.*?)\s*$/.exec(rawLine);
    if (assignment && assignment[1] === key) return nonEmpty(assignment[2]);
  }
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
