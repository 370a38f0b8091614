import { Cron } from 'croner';
import { UserError } from '../../core/errors';

export const MONTH_DAYS = 30;
export const MONTH_HOURS = MONTH_DAYS * 24;
export const MONTH_SECONDS = MONTH_HOURS * 3600;

const DAY_MS = 86_400_000;
/** A fixed reference year, so estimates do not change with the day they are made (weekly schedules get 30/7 runs, not 4 or 5). */
const REFERENCE_START = Date.UTC(2025, 0, 1);
const REFERENCE_DAYS = 365;
/** Schedules firing more often than this within the reference year are extrapolated from their first runs
 * (croner with a time zone takes ~0.1 ms per run). */
const MAX_ENUMERATED_RUNS = 2_000;

/**
 * Average runs of a Quartz schedule in a 30-day month: runs over a whole reference year (2025, in the job's time
 * zone, so DST is honoured) × 30 / 365. Quartz semantics: seconds field, `?`, `L`, `W`, `#`, day-of-week 1 = Sunday.
 */
export function runsPerMonth(quartz: string, timezone: string): number {
  let cron: Cron;
  try {
    cron = new Cron(quartz, { timezone, mode: '6-or-7-parts', alternativeWeekdays: true, domAndDow: true, paused: true });
  } catch (err) {
    throw new UserError(`schedule "${quartz}" (${timezone}) cannot be expanded: ${(err as Error).message}`);
  }
  const end = REFERENCE_START + REFERENCE_DAYS * DAY_MS;
  let previous: Date = new Date(REFERENCE_START - 1);
  let first = Number.NaN;
  let runs = 0;
  for (;;) {
    const next = cron.nextRun(previous);
    if (next === null || next.getTime() >= end) break;
    if (runs === 0) first = next.getTime();
    runs += 1;
    previous = next;
    if (runs >= MAX_ENUMERATED_RUNS) {
      // Rate between the first and the last enumerated run: exact for evenly spaced schedules.
      const intervals = (next.getTime() - first) / DAY_MS;
      return ((runs - 1) / intervals) * MONTH_DAYS;
    }
  }
  return (runs * MONTH_DAYS) / REFERENCE_DAYS;
}
