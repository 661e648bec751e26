import { GiveUp, waitFor } from './index';

describe('waitFor', () => {
  it('polls until the condition holds', async () => {
    let n = 0;
    await expect(waitFor(() => ++n >= 3 && n, { intervalMs: 1, timeoutMs: 5000 })).resolves.toBe(3);
  });

  it('stops at once on a GiveUp, with its message, instead of polling to the deadline', async () => {
    let calls = 0;
    await expect(waitFor(() => { calls += 1; throw new GiveUp('the service exited'); }, { intervalMs: 1, timeoutMs: 60_000 })).rejects.toThrow('the service exited');
    expect(calls).toBe(1);
  });

  it('keeps polling through other errors and names the last one at the deadline', async () => {
    let calls = 0;
    await expect(waitFor(() => { calls += 1; throw new Error(`not yet ${calls}`); }, { intervalMs: 1, timeoutMs: 30, what: 'the thing' })).rejects.toThrow(/timed out waiting for the thing; last: not yet \d+/);
    expect(calls).toBeGreaterThan(1);
  });
});
