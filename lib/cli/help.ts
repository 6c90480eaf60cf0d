/** How every command's help and usage errors read: one style, set on each command by main.ts. */
import type { Command, Option } from "commander";

/** The line every usage error ends with, top-level and inside a command. */
export const USAGE_HINT = "(run with --help for usage)";

/**
 * An option's help text: required options say so, and empty defaults (`[]` for repeatable
 * options, `""`) are left out, as they tell nothing.
 */
export function optionHelpText(option: Option): string {
  const extras: string[] = [];
  if (option.mandatory) extras.push("required");
  const value = option.defaultValue;
  const empty = value === undefined || value === "" ||
    (Array.isArray(value) && value.length === 0);
  if (!empty && (option.required || option.optional)) {
    extras.push(`default: ${option.defaultValueDescription ?? JSON.stringify(value)}`);
  }
  return extras.length ? `${option.description} (${extras.join(", ")})` : option.description;
}

/** Gives `command` the shared help style and usage hint. */
export function applyHelpStyle(command: Command): Command {
  return command
    .showHelpAfterError(USAGE_HINT)
    .configureHelp({ optionDescription: (option: Option) => optionHelpText(option) });
}
