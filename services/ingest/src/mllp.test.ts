import fc from 'fast-check';
import { CR, FS, frame, MllpFramer, VT, type Frame } from './mllp';

const b = (s: string) => Buffer.from(s, 'latin1');
const wrap = (s: string) => frame(b(s));
const texts = (frames: Frame[]) => frames.map((f) => (f.kind === 'message' ? f.data.toString('latin1') : `<${f.kind}>`));

describe('MllpFramer', () => {
  it('reads several frames from one chunk, in order', () => {
    const f = new MllpFramer(1024);
    expect(texts(f.push(Buffer.concat([wrap('MSH|1'), wrap('MSH|2'), wrap('MSH|3')])))).toEqual(['MSH|1', 'MSH|2', 'MSH|3']);
  });

  it('reads a frame split over many chunks, including between FS and CR', () => {
    const f = new MllpFramer(1024);
    const all = Buffer.concat([wrap('MSH|abc\rPID|1'), wrap('MSH|2')]);
    const out: Frame[] = [];
    for (const byte of all) out.push(...f.push(Buffer.from([byte])));
    expect(texts(out)).toEqual(['MSH|abc\rPID|1', 'MSH|2']);
    expect(f.pending).toBe(0);
  });

  it('tolerates an end block without its CR, and whitespace between frames', () => {
    const f = new MllpFramer(1024);
    const chunk = Buffer.concat([Buffer.from([VT]), b('MSH|1'), Buffer.from([FS]), b('\r\n  \n'), wrap('MSH|2')]);
    expect(texts(f.push(chunk))).toEqual(['MSH|1', 'MSH|2']);
    expect(f.strayBytes).toBe(0);
  });

  it('counts and drops bytes outside any frame', () => {
    const f = new MllpFramer(1024);
    expect(texts(f.push(Buffer.concat([b('MSH|unframed\r'), wrap('MSH|ok')])))).toEqual(['MSH|ok']);
    expect(f.strayBytes).toBe('MSH|unframed'.length);
  });

  it('answers an oversized frame with its head and size, without buffering it whole', () => {
    const f = new MllpFramer(100, 10);
    const big = 'MSH|' + 'x'.repeat(500);
    const out: Frame[] = [];
    const framed = wrap(big);
    for (let i = 0; i < framed.length; i += 37) out.push(...f.push(framed.subarray(i, i + 37)));
    out.push(...f.push(wrap('MSH|next')));
    expect(out[0]).toEqual({ kind: 'oversize', head: b(big.slice(0, 10)), size: big.length });
    expect(texts(out.slice(1))).toEqual(['MSH|next']);
  });

  it('a frame of exactly the limit is a message', () => {
    const f = new MllpFramer(8);
    expect(texts(f.push(wrap('MSH|1234')))).toEqual(['MSH|1234']);
  });

  it('a start block inside a frame closes the broken frame as incomplete and starts a new one', () => {
    const f = new MllpFramer(1024);
    const chunk = Buffer.concat([Buffer.from([VT]), b('MSH|half'), wrap('MSH|whole')]);
    const out = f.push(chunk);
    expect(out[0]).toEqual({ kind: 'incomplete', data: b('MSH|half') });
    expect(texts(out.slice(1))).toEqual(['MSH|whole']);
  });

  it('an empty frame is a message of zero bytes (the intake answers it AR)', () => {
    const f = new MllpFramer(1024);
    expect(f.push(Buffer.from([VT, FS, CR]))).toEqual([{ kind: 'message', data: Buffer.alloc(0) }]);
  });

  it('property: any messages, framed and cut into any chunks, come out whole and in order', () => {
    const payload = fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a.filter((x) => x !== VT && x !== FS)));
    fc.assert(
      fc.property(fc.array(payload, { maxLength: 12 }), fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 20 }), (msgs, cuts) => {
        const stream = Buffer.concat(msgs.map(frame));
        const f = new MllpFramer(1000);
        const out: Frame[] = [];
        let pos = 0;
        let i = 0;
        while (pos < stream.length) {
          const n = cuts[i++ % cuts.length]!;
          out.push(...f.push(stream.subarray(pos, pos + n)));
          pos += n;
        }
        expect(out.map((x) => (x.kind === 'message' ? x.data.toString('hex') : x.kind))).toEqual(msgs.map((m) => m.toString('hex')));
      }),
      { numRuns: 300 },
    );
  });

  it('property: random bytes never throw and never hold more than the limit', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
        const f = new MllpFramer(64, 16);
        for (const c of chunks) {
          for (const fr of f.push(Buffer.from(c))) {
            if (fr.kind === 'message') expect(fr.data.length).toBeLessThanOrEqual(64);
            else if (fr.kind === 'oversize') expect(fr.head.length).toBeLessThanOrEqual(16);
            else expect(fr.data.length).toBeLessThanOrEqual(16);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
