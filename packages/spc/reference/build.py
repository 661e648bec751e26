# Joins cases.json with R's results into reference-cases.json, the fixture that
# src/reference.test.ts checks @pfm/spc against. Limits are stored once per segment.
import csv
import json

TYPES = {'common_cause': 'c', 'special_cause_improvement': 'I', 'special_cause_concern': 'X',
         'special_cause_neutral_high': 'h', 'special_cause_neutral_low': 'l'}
cases = json.load(open('cases.json'))
points = list(csv.DictReader(open('r-points.csv')))
assurance = {int(r['case']): (None if r['assurance'] == 'NA' else r['assurance']) for r in csv.DictReader(open('r-assurance.csv'))}
num = lambda s: None if s in ('NaN', 'NA') else float(s)
for c in cases:
    rows = [r for r in points if int(r['case']) == c['id']]
    assert len(rows) == len(c['values'])
    segs = []
    for r in rows:
        key = (r['rebase_group'], r['mean'], r['lpl'], r['upl'])
        if segs and segs[-1][0] == key:
            segs[-1][1] += 1
        else:
            segs.append([key, 1])
    c['reference'] = dict(
        segments=[dict(points=n, mean=num(k[1]), lpl=num(k[2]), upl=num(k[3])) for k, n in segs],
        types=''.join(TYPES[r['point_type']] for r in rows),
        assurance=assurance[c['id']])
with open('reference-cases.json', 'w') as f:
    f.write('{"about":"NHSRplotthedots ptd_spc() results (commit 050b07d) for the series of gen.py; regenerate with README.md","cases":[\n')
    f.write(',\n'.join(json.dumps(c, separators=(',', ':')) for c in cases))
    f.write('\n]}\n')
