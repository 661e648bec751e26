import { exposedNames, metricNames, PromqlSyntaxError } from './promql';

describe('metricNames', () => {
  it('finds the selected metrics, not functions, aggregations, label names or keywords', () => {
    expect(metricNames('sum by (group, topic) (max by (group, topic, partition) (pfm_kafka_consumer_lag{group=~"x"})) > 1000 and on() hour() >= 8')).toEqual(['pfm_kafka_consumer_lag']);
    expect(metricNames('histogram_quantile(0.99, sum by (le) (rate(pfm_engine_apply_delay_seconds_bucket{from="received"}[5m] offset 1m)))')).toEqual(['pfm_engine_apply_delay_seconds_bucket']);
    expect(metricNames('time() - max by (source) (b_ts) or a_total / ignoring(x) group_left c')).toEqual(['a_total', 'b_ts', 'c']);
    expect(metricNames('pfm:consumer_lag:sum_by_group > 5')).toEqual(['pfm:consumer_lag:sum_by_group']);
  });

  it('throws on a syntax error, naming where', () => {
    expect(() => metricNames('sum(rate(x[5m])')).toThrow(PromqlSyntaxError);
    expect(() => metricNames('rate(x[5m]) >')).toThrow(/syntax error/);
  });
});

describe('exposedNames', () => {
  it('lists sample and declared names from Prometheus text, histograms with their series', () => {
    const text = [
      '# HELP a_total A', '# TYPE a_total counter', 'a_total{x="1",service="s"} 3', '# HELP quiet_total Q', '# TYPE quiet_total counter',
      '# TYPE h histogram', 'h_bucket{le="1"} 0', 'h_bucket{le="+Inf"} 1', 'h_sum 0.5', 'h_count 1', 'g 2', '',
    ].join('\n');
    expect([...exposedNames(text)].sort()).toEqual(['a_total', 'g', 'h_bucket', 'h_count', 'h_sum', 'quiet_total']);
  });
});
