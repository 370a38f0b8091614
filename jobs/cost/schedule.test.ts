import { describe, expect, it } from 'vitest';
import { UserError } from '../../core/errors';
import { runsPerMonth } from './schedule';

describe('runsPerMonth (Quartz, averaged over 2025, × 30 / 365)', () => {
  it('daily schedules run 30 times', () => {
    expect(runsPerMonth('0 0 3 * * ?', 'Europe/Berlin')).toBeCloseTo(30, 10);
    expect(runsPerMonth('0 30 4 * * ?', 'UTC')).toBeCloseTo(30, 10);
  });

  it('weekly schedules use day-of-week names and Quartz numbers (1 = Sunday)', () => {
    // 2025 has 52 Mondays.
    expect(runsPerMonth('0 0 2 ? * MON', 'Europe/Berlin')).toBeCloseTo((52 * 30) / 365, 10);
    expect(runsPerMonth('0 0 2 ? * 2', 'UTC')).toBeCloseTo((52 * 30) / 365, 10);
  });

  it('L, W and # work', () => {
    expect(runsPerMonth('0 0 12 L * ?', 'UTC')).toBeCloseTo((12 * 30) / 365, 10);
    expect(runsPerMonth('0 0 9 15W * ?', 'UTC')).toBeCloseTo((12 * 30) / 365, 10);
    expect(runsPerMonth('0 0 12 ? * 6#3', 'UTC')).toBeCloseTo((12 * 30) / 365, 10);
  });

  it('frequent schedules: every 15 minutes', () => {
    expect(runsPerMonth('0 */15 * * * ?', 'UTC')).toBeCloseTo(4 * 24 * 30, 6);
  });

  it('an expression croner cannot expand is a UserError naming it', () => {
    expect(() => runsPerMonth('not a cron', 'UTC')).toThrow(UserError);
    expect(() => runsPerMonth('not a cron', 'UTC')).toThrow(/schedule "not a cron"/);
  });
});

describe('runsPerMonth on schedules too frequent to enumerate over a year', () => {
  it('extrapolates every-minute and every-10-seconds schedules from their rate', () => {
    expect(runsPerMonth('0 * * * * ?', 'UTC')).toBeCloseTo(60 * 24 * 30, 6);
    expect(runsPerMonth('*/10 * * * * ?', 'UTC')).toBeCloseTo(6 * 60 * 24 * 30, 6);
  });
});
