# Series for the differential check of @pfm/spc against NHSRplotthedots (see README.md):
# seeded random series of several shapes (random walks with ties, small integers whose mean
# some points equal, steps, trends, outliers, decimals) with random options, plus a few
# hand-made edge cases. Writes cases.json (for R and for the fixture) and R's inputs.
import datetime
import json
import random

random.seed(20261201)
d0 = datetime.date(2024, 1, 1)


def weekly(n):
    return [str(d0 + datetime.timedelta(days=7 * i)) for i in range(n)]


cases = []
for c in range(250):
    n = random.choice([2, 3, 5, 8, 12, 15, 20, 25, 30, 40])
    kind = random.choice(['walk', 'iid', 'steps', 'ints', 'trendy', 'decimals'])
    v, x = [], random.randint(0, 10)
    for i in range(n):
        if kind == 'walk':
            x += random.choice([-2, -1, 0, 1, 2])
        elif kind == 'iid':
            x = random.randint(0, 6)
        elif kind == 'steps':
            x = (5 if i < n // 2 else 9) + random.choice([-1, 0, 1])
        elif kind == 'ints':
            x = random.choice([0, 1, 2, 3, 4, 5, 20, -10]) if random.random() < 0.15 else random.randint(3, 7)
        elif kind == 'trendy':
            x += random.choice([1, 1, 1, 0, -1])
        else:
            x = round(random.gauss(50, 5), 3)
        v.append(x)
    dates = weekly(n)
    rebase = sorted(random.sample(dates[1:], k=min(n - 1, random.choice([0, 0, 0, 1, 2])))) if n > 2 else []
    target = random.choice([None, None, round(random.uniform(min(v) - 5, max(v) + 5), 2)])
    cases.append(dict(id=c, start=dates[0], values=v, screen=random.random() < 0.6,
                      fixAfter=random.choice([None, None, None, 2, 3, 5, 8, 12]), rebase=rebase,
                      improvement=random.choice(['increase', 'decrease', 'neutral']), target=target))

hand = [
    # point on the mean inside a would-be shift; ties inside a would-be trend
    dict(values=[0, 10, 0, 10, 6, 6, 6, 5, 6, 6, 6, 6, 6, 6, 6], fixAfter=4),
    dict(values=[0, 20, 0, 20, 7, 8, 9, 9, 10, 11, 12, 13, 14, 15], fixAfter=4),
    # turning point between a rising and a falling run
    dict(values=[0, 20, 0, 20, 4, 5, 6, 7, 8, 9, 10, 9, 8, 7, 6, 5, 4], fixAfter=4),
    # 2 of 3: third point across the mean, on it, and an outside point in the window
    dict(values=[-3, 3, -3, 3, -1, 12, 2, 12, -1, 12, 0, 12, -1, 12, 20, -1, 12, 20, 12, -1], fixAfter=4),
    # flat start (no limits once screened), flat everything, one-point segment
    dict(values=[5, 5, 5, 9, 9, 9, 9, 9, 9, 9], fixAfter=3, target=7),
    dict(values=[5, 5, 5, 5, 5], target=5),
    dict(values=[1, 2, 1, 2, 3, 2, 10], rebase_at=[6], target=0),
    # two rising runs joined by a drop: the documented difference (see README, "Choices")
    dict(values=[0, 20, 0, 20, 1, 2, 3, 4, 5, 6, 7, 0, 1, 2, 3, 4, 5, 6], fixAfter=4,
         differs='the 7 ends a rising run and the next point starts another; the reference labels it by the drop after it'),
]
for k, h in enumerate(hand):
    dates = weekly(len(h['values']))
    cases.append(dict(id=1000 + k, start=dates[0], values=h['values'], screen=h.get('screen', True),
                      fixAfter=h.get('fixAfter'), rebase=[dates[i] for i in h.get('rebase_at', [])],
                      improvement=h.get('improvement', 'increase'), target=h.get('target'),
                      **({'differs': h['differs']} if 'differs' in h else {})))

json.dump(cases, open('cases.json', 'w'))
with open('values.csv', 'w') as f:
    f.write('case,date,value\n')
    for c in cases:
        for d, val in zip(weekly(len(c['values'])), c['values']):
            f.write(f"{c['id']},{d},{val!r}\n")
with open('options.csv', 'w') as f:
    f.write('case,screen,fix,rebase,improvement,target\n')
    for c in cases:
        f.write(f"{c['id']},{'TRUE' if c['screen'] else 'FALSE'},{c['fixAfter'] or 'NA'},{';'.join(c['rebase'])},"
                f"{c['improvement']},{'NA' if c['target'] is None else c['target']}\n")
