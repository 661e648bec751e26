// The metric names a PromQL expression reads, found with the Prometheus project's own
// PromQL grammar (lezer-promql), so a typo in a dashboard or rule cannot hide behind a
// hand-written regex. A syntax error throws with the expression and position.
import { parser } from '@prometheus-io/lezer-promql';

export class PromqlSyntaxError extends Error {
  constructor(readonly expr: string, readonly at: number) {
    super(`PromQL syntax error at ${at}: ${expr.slice(0, at)} <here> ${expr.slice(at)}`);
    this.name = 'PromqlSyntaxError';
  }
}

/** Metric names selected by the expression (VectorSelector identifiers), sorted and unique. */
export function metricNames(expr: string): string[] {
  const tree = parser.parse(expr);
  const names = new Set<string>();
  let error: number | undefined;
  tree.iterate({
    enter: (node) => {
      if (node.type.isError && error === undefined) error = node.from;
      if (node.name === 'VectorSelector') {
        const id = node.node.getChild('Identifier');
        if (id) names.add(expr.slice(id.from, id.to));
      }
    },
  });
  if (error !== undefined) throw new PromqlSyntaxError(expr, error);
  return [...names].sort();
}

/**
 * Metric names in Prometheus text exposition (what a service's /metrics returns): every
 * sample line's name, and every declared (# TYPE) metric's series, so a labelled counter
 * that has not counted anything yet (no sample line) is still known, and a histogram
 * contributes its _bucket, _sum and _count.
 */
export function exposedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const typed = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (typed) {
      const [, name, type] = typed;
      if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name! + s);
      else if (type === 'summary') for (const s of ['', '_sum', '_count']) names.add(name! + s);
      else names.add(name!);
      continue;
    }
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (m) names.add(m[1]!);
  }
  return names;
}
