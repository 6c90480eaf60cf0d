/** Dollar amounts for people: cents when they matter, more digits for the tiny sums of archives. */

/** `12.3456` -> `$12.35`; `0.00123` -> `$0.0012`; below a hundredth of a cent -> `<$0.0001`. */
export function formatDollars(amount: number): string {
  if (amount === 0) return "$0.00";
  if (amount >= 0.01) {
    return `$${
      amount.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    }`;
  }
  if (amount >= 0.0001) return `$${amount.toFixed(4)}`;
  return "<$0.0001";
}
