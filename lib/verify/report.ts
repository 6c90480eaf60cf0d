/**
 * What `glacier verify` found: problems (each one line, naming what is wrong and where), notes
 * (facts worth knowing that are not faults), and the list of what was checked, for the summary.
 */
import { quotePath } from "../archive/quote_path.ts";

/** One finding about a volume, an object or the catalog. */
export interface Finding {
  /** What it is about: a volume name, an object key, "catalog", ... */
  subject: string;
  message: string;
}

/** Collects findings as the checks run; `onProblem` sees each problem as it is found. */
export class VerifyReport {
  readonly problems: Finding[] = [];
  readonly notes: Finding[] = [];
  /** Lines for the summary, e.g. "14 volumes in s3://b: present, size, storage class". */
  readonly checked: string[] = [];
  /** Problems beyond the first `maxListed` are counted, not kept. */
  unlisted = 0;

  constructor(
    private readonly onProblem: (finding: Finding) => void = () => {},
    private readonly maxListed = 1000,
  ) {}

  /** Records a problem. */
  problem(subject: string, message: string): void {
    if (this.problems.length >= this.maxListed) {
      this.unlisted++;
      return;
    }
    const finding = { subject, message };
    this.problems.push(finding);
    this.onProblem(finding);
  }

  /** Records a note (not a fault). */
  note(subject: string, message: string): void {
    this.notes.push({ subject, message });
  }

  /** Number of problems found, listed or not. */
  get problemCount(): number {
    return this.problems.length + this.unlisted;
  }
}

/** A finding as one output line: `SUBJECT: MESSAGE` (the subject quoted if need be). */
export function findingLine(finding: Finding): string {
  return `${quotePath(finding.subject)}: ${finding.message}`;
}

/** `1 volume`, `3 volumes` (`many` for irregular plurals: `2 entries`). */
export function plural(count: number, noun: string, many = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : many}`;
}
