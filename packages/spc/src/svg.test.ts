// The SVG chart: well-formed XML, Making Data Count colours, limits broken at rebases, icons.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { spc } from './spc';
import { COLOURS, renderSvg } from './svg';

const dated = (values: number[]) => values.map((value, i) => ({ date: `2026-01-${String(i + 1).padStart(2, '0')}`, value }));

describe('renderSvg', () => {
  const values = [0, 20, 0, 20, 100, -100, 10, 11];
  const r = spc(dated(values), { fixAfter: 4, rebase: ['2026-01-07'], target: 50 });
  const svg = renderSvg([{ group: 'Ward <A> & "B"', points: r.points, assurance: r.assurance }], { improvement: 'increase', target: 50 });
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(svg) as { svg: { g: { g: unknown[]; circle: Record<string, string>[]; line: Record<string, string>[]; text: unknown[] } } };

  it('is well-formed XML with an svg root', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.startsWith('<?xml')).toBe(true);
    expect(doc.svg).toBeDefined();
  });

  it('one point per value, coloured by type', () => {
    const points = doc.svg.g.circle.filter((c) => c.class?.startsWith('point'));
    expect(points).toHaveLength(values.length);
    expect(points[4]!.fill).toBe(COLOURS.improvement); // 100 above the UPL 63.2
    expect(points[5]!.fill).toBe(COLOURS.concern); // -100 below the LPL
    expect(points[0]!.fill).toBe(COLOURS.common_cause);
  });

  it('mean and limits drawn once per segment; the target once', () => {
    const lines = doc.svg.g.line;
    expect(lines.filter((l) => l.class === 'mean')).toHaveLength(2);
    expect(lines.filter((l) => l.class === 'upl')).toHaveLength(2);
    expect(lines.filter((l) => l.class === 'target')).toHaveLength(1);
  });

  it('variation and assurance icons, and the group name escaped', () => {
    expect(svg).toContain('data-icon="common_cause"'); // latest point 11: common cause
    expect(svg).toContain(`data-icon="${r.assurance}"`);
    expect(svg).toContain('Ward &lt;A&gt; &amp; &quot;B&quot;');
  });

  it('neutral special cause is purple; no assurance icon without a target', () => {
    const n = spc(dated([0, 20, 0, 20, 100]), { fixAfter: 4, improvement: 'neutral' });
    const s = renderSvg([{ group: null, points: n.points, assurance: n.assurance }], { improvement: 'neutral' });
    expect(XMLValidator.validate(s)).toBe(true);
    expect(s).toContain(`fill="${COLOURS.neutral}"`);
    expect(s).toContain('data-icon="neutral_high"');
    expect(s).not.toContain('class="icon assurance"');
  });
});
