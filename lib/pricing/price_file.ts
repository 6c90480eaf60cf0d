/**
 * Price overrides from a JSON file (`--prices FILE`, or the `GLACIER_PRICES_FILE` environment
 * variable): the file has the shape of `PriceTable` and names only what it changes, e.g.
 *
 *     { "region": "eu-west-1", "transferOutPerGb": 0.09,
 *       "classes": { "DEEP_ARCHIVE": { "storagePerGbMonth": 0.0018,
 *                                      "restoreTiers": { "Bulk": { "perGb": 0.0025 } } } } }
 *
 * Unknown names and values of the wrong type are usage errors, so a typo never passes silently.
 */
import { UsageError } from "../archive/errors.ts";
import { DEFAULT_PRICES, type PriceTable } from "./prices.ts";

/** The environment variable naming a prices file when no `--prices` is given. */
export const PRICES_FILE_ENV = "GLACIER_PRICES_FILE";

/**
 * The price table to use: the defaults, overridden by `file` or else by the file that
 * `GLACIER_PRICES_FILE` names. A missing, unreadable or malformed file is a `UsageError`.
 */
export async function loadPrices(file?: string): Promise<PriceTable> {
  const path = file ?? (Deno.env.get(PRICES_FILE_ENV) || undefined);
  if (path === undefined) return DEFAULT_PRICES;
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "no such file"
      : error instanceof Error
      ? error.message
      : String(error);
    throw new UsageError(`cannot read prices file ${path}: ${reason}`);
  }
  const prices = applyPriceOverrides(text, path);
  const source = `${prices.region} prices from ${path}, the rest from the built-in us-east-1 table`;
  return { ...prices, source };
}

/** `DEFAULT_PRICES` with the overrides in the JSON `text` (from `origin`, named in errors). */
export function applyPriceOverrides(
  text: string,
  origin: string,
  base: PriceTable = DEFAULT_PRICES,
): PriceTable {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UsageError(`prices file ${origin} is not valid JSON: ${detail}`);
  }
  if (!isPlainObject(parsed)) {
    throw new UsageError(`prices file ${origin} must hold a JSON object`);
  }
  return merge(
    base as unknown as Record<string, unknown>,
    parsed,
    "",
    origin,
  ) as unknown as PriceTable;
}

/** A copy of `base` with the values of `override`, checked against the shape of `base`. */
function merge(
  base: Record<string, unknown>,
  override: Record<string, unknown>,
  at: string,
  origin: string,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const path = at === "" ? key : `${at}.${key}`;
    const current = Object.hasOwn(base, key) ? base[key] : undefined;
    if (current === undefined) {
      throw new UsageError(`prices file ${origin}: unknown price "${path}"`);
    }
    if (typeof current === "number") {
      if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
        throw new UsageError(`prices file ${origin}: "${path}" must be a number of at least 0`);
      }
      result[key] = value;
    } else if (typeof current === "string") {
      if (typeof value !== "string") {
        throw new UsageError(`prices file ${origin}: "${path}" must be a string`);
      }
      result[key] = value;
    } else if (!isPlainObject(value)) {
      throw new UsageError(`prices file ${origin}: "${path}" must be an object`);
    } else {
      result[key] = merge(current as Record<string, unknown>, value, path, origin);
    }
  }
  return result;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
