import { UserError } from '../../core/errors';

/** The days a monitor run looks at: `lookbackDays` UTC calendar days ending with `endDate` (inclusive). */
export interface MonitorWindow {
  /** Start of the first day (ISO-8601, inclusive). */
  from: string;
  /** Start of the day after the last one (ISO-8601, exclusive). */
  to: string;
  /** The days, oldest first, as `YYYY-MM-DD` (the log partitions `date=<day>/`). */
  days: string[];
  end_date: string;
  lookback_days: number;
}

const DAY_MS = 86_400_000;

export function parseDay(value: string, flag: string): Date {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  const parsed = match ? new Date(`${value}T00:00:00.000Z`) : null;
  if (!parsed || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== value) {
    throw new UserError(`${flag} must be a calendar date YYYY-MM-DD, got '${value}'`);
  }
  return parsed;
}

export function monitorWindow(endDate: string | undefined, lookbackDays: number, now: Date = new Date()): MonitorWindow {
  if (!Number.isInteger(lookbackDays) || lookbackDays < 1 || lookbackDays > 366) {
    throw new UserError(`--lookback-days must be an integer between 1 and 366, got '${lookbackDays}'`);
  }
  const end = endDate === undefined ? new Date(`${now.toISOString().slice(0, 10)}T00:00:00.000Z`) : parseDay(endDate, '--end-date');
  const first = end.getTime() - (lookbackDays - 1) * DAY_MS;
  const days = Array.from({ length: lookbackDays }, (_, i) => new Date(first + i * DAY_MS).toISOString().slice(0, 10));
  return {
    from: new Date(first).toISOString(),
    to: new Date(end.getTime() + DAY_MS).toISOString(),
    days,
    end_date: end.toISOString().slice(0, 10),
    lookback_days: lookbackDays,
  };
}
