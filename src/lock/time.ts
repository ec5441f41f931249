const msPerDay = 86_400_000;

/** `2024-12-15`: the UTC calendar date, as Nix prints lastModified in its own lock update messages. */
export function formatDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/**
 * Calendar days from one UTC date to another (negative when `to` is earlier). Counting dates rather
 * than 24-hour periods keeps "2024-12-01 → 2024-12-15" and "14 days" consistent on screen.
 */
export function calendarDaysBetween(from: Date, to: Date): number {
  return Math.floor(to.getTime() / msPerDay) - Math.floor(from.getTime() / msPerDay);
}

/** Whole 24-hour periods since `since` (flake-checker counts an input's age the same way). */
export function ageInDays(since: Date, now: Date): number {
  return Math.floor((now.getTime() - since.getTime()) / msPerDay);
}

/** `1 day`, `14 days`, `-3 days`. */
export function formatDays(days: number): string {
  return `${days} ${Math.abs(days) === 1 ? "day" : "days"}`;
}
