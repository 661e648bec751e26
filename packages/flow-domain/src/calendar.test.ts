// Periods "beginning with the day" (Mental Health Act s2 and s3), counted in London time.
import { localMidnight, period, ukLimitText } from './calendar';

const periodEnd = (since: number, length: { days?: number; months?: number }) => period(since, length).endsAt;

const at = (iso: string) => Date.parse(iso);

describe('localMidnight (Europe/London)', () => {
  it('is 00:00 UTC in winter (GMT) and 23:00 UTC the day before in summer (BST)', () => {
    expect(new Date(localMidnight(2026, 1, 15)).toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(new Date(localMidnight(2026, 7, 15)).toISOString()).toBe('2026-07-14T23:00:00.000Z');
  });

  it('on the days the clocks change (they change at 01:00 UTC, after midnight)', () => {
    // 29 March 2026: midnight is still GMT; 25 October 2026: midnight is still BST.
    expect(new Date(localMidnight(2026, 3, 29)).toISOString()).toBe('2026-03-29T00:00:00.000Z');
    expect(new Date(localMidnight(2026, 10, 25)).toISOString()).toBe('2026-10-24T23:00:00.000Z');
  });
});

describe('period', () => {
  it('28 days beginning with a day end at the midnight after day 28, whatever the hour of day one', () => {
    // Day one 10 March (GMT); day 28 is 6 April (BST): the period ends as 7 April begins.
    expect(new Date(periodEnd(at('2026-03-10T00:05:00Z'), { days: 28 })).toISOString()).toBe('2026-04-06T23:00:00.000Z');
    expect(new Date(periodEnd(at('2026-03-10T23:55:00Z'), { days: 28 })).toISOString()).toBe('2026-04-06T23:00:00.000Z');
  });

  it('takes the day in London, not in UTC (23:30 BST is 22:30 UTC the same day; 00:30 BST is the day before in UTC)', () => {
    expect(new Date(periodEnd(at('2026-06-30T23:30:00Z'), { days: 1 })).toISOString()).toBe('2026-07-01T23:00:00.000Z');
    expect(new Date(periodEnd(at('2026-06-30T23:30:00Z'), { days: 1 })).toISOString()).not.toBe('2026-06-30T23:00:00.000Z');
  });

  it('6 months end on the day before the corresponding date', () => {
    expect(new Date(periodEnd(at('2026-01-15T09:00:00Z'), { months: 6 })).toISOString()).toBe('2026-07-14T23:00:00.000Z');
    expect(new Date(periodEnd(at('2026-09-20T12:00:00Z'), { months: 6 })).toISOString()).toBe('2027-03-20T00:00:00.000Z');
  });

  it('with no corresponding date, at the end of the month (31 August + 6 months: the end of February)', () => {
    expect(new Date(periodEnd(at('2026-08-31T10:00:00Z'), { months: 6 })).toISOString()).toBe('2027-03-01T00:00:00.000Z');
    // A leap year's February has a 29th.
    expect(new Date(periodEnd(at('2027-08-29T10:00:00Z'), { months: 6 })).toISOString()).toBe('2028-02-29T00:00:00.000Z');
  });

  it('crosses a year end', () => {
    expect(new Date(periodEnd(at('2026-11-30T10:00:00Z'), { months: 12 })).toISOString()).toBe('2027-11-30T00:00:00.000Z');
    expect(new Date(periodEnd(at('2026-12-31T10:00:00Z'), { days: 1 })).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});

describe('ukLimitText', () => {
  it('reads in UK time with its zone, and a limit at midnight as the day it closes', () => {
    expect(ukLimitText(at('2026-07-14T13:05:00Z'))).toBe('14 Jul 2026 14:05 BST');
    expect(ukLimitText(at('2026-12-04T15:20:00Z'))).toBe('4 Dec 2026 15:20 GMT');
    expect(ukLimitText(at('2027-03-31T23:00:00Z'))).toBe('the end of 31 Mar 2027');
    expect(ukLimitText(at('2026-11-02T00:00:00Z'))).toBe('the end of 1 Nov 2026');
  });

  it('tells the repeated hour apart when the clocks go back', () => {
    expect(ukLimitText(at('2026-10-25T00:30:00Z'))).toBe('25 Oct 2026 01:30 BST');
    expect(ukLimitText(at('2026-10-25T01:30:00Z'))).toBe('25 Oct 2026 01:30 GMT');
  });
});
