#!/usr/bin/env python3
"""Reads an insights export (./pfm insights export --format parquet) with the tools analysts
use outside the product: pandas (pyarrow engine), pyarrow itself and, when installed, the
DuckDB Python package. Every table of the data dictionary must be there; each reader must
see the same rows and the dictionary's columns, in order, with a matching type; a CSV export
of the same warehouse (--csv DIR) must have the same row counts. Exits 1 on any mismatch.

    python3 scripts/check-export-readers.py EXPORT_DIR [--csv CSV_EXPORT_DIR]

Needs pandas and pyarrow (not part of the product; see docs/benchmarks.md for how they were
installed where this was run).
"""
import json
import os
import sys

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

try:
    import duckdb
except ImportError:  # optional third reader
    duckdb = None

# Dictionary type -> what each reader must report (pandas dtype kinds, pyarrow type names).
PANDAS_KIND = {"VARCHAR": "O", "TIMESTAMP": "M", "DATE": "O", "DOUBLE": "f", "INTEGER": "i", "BOOLEAN": "b"}
ARROW_PREFIX = {"VARCHAR": "string", "TIMESTAMP": "timestamp", "DATE": "date32", "DOUBLE": "double", "INTEGER": "int32", "BOOLEAN": "bool"}


def main(argv):
    if not argv or argv[0].startswith("-"):
        print(__doc__)
        return 2
    out = argv[0]
    csv_dir = argv[argv.index("--csv") + 1] if "--csv" in argv else None
    dictionary = json.load(open(os.path.join(out, "data-dictionary.json"), encoding="utf-8"))
    problems = []
    print(f"pandas {pd.__version__}, pyarrow {pa.__version__}, duckdb {duckdb.__version__ if duckdb else 'not installed'}")
    for table in dictionary["tables"]:
        name = table["name"]
        path = os.path.join(out, f"{name}.parquet")
        if not os.path.exists(path):
            problems.append(f"{name}: {path} missing")
            continue
        cols = [c["name"] for c in table["columns"]]
        types = {c["name"]: c["type"] for c in table["columns"]}
        frame = pd.read_parquet(path, engine="pyarrow")
        arrow = pq.read_table(path)
        counts = {"pandas": len(frame), "pyarrow": arrow.num_rows}
        if duckdb:
            counts["duckdb"] = duckdb.sql(f"SELECT count(*) FROM read_parquet('{path}')").fetchone()[0]
        if csv_dir:
            csv_path = os.path.join(csv_dir, f"{name}.csv")
            counts["csv (pandas)"] = len(pd.read_csv(csv_path)) if os.path.exists(csv_path) else -1
        if len(set(counts.values())) != 1:
            problems.append(f"{name}: row counts differ {counts}")
        if list(frame.columns) != cols:
            problems.append(f"{name}: columns {list(frame.columns)} != dictionary {cols}")
        for col in cols:
            if col not in frame.columns:
                continue
            want = types[col]
            kind = frame[col].dtype.kind
            arrow_type = str(arrow.schema.field(col).type)
            # An all-null column has no values to type in pandas; pyarrow still carries the type.
            if kind != PANDAS_KIND[want] and not (frame[col].isna().all() and kind == "O"):
                # Nullable integers and booleans come back as float / object in pandas when they hold nulls.
                if not ((want == "INTEGER" and kind == "f") or (want == "BOOLEAN" and kind == "O")):
                    problems.append(f"{name}.{col}: pandas dtype {frame[col].dtype} for {want}")
            if not arrow_type.startswith(ARROW_PREFIX[want]) and not (want == "VARCHAR" and arrow_type == "large_string"):
                problems.append(f"{name}.{col}: pyarrow type {arrow_type} for {want}")
        print(f"{name:24} {counts['pandas']:>8} rows  {len(cols):>3} columns  readers agree: {len(set(counts.values())) == 1}")
    series = os.path.join(out, "measure_series.parquet")
    if os.path.exists(series):
        frame = pd.read_parquet(series, engine="pyarrow")
        print(f"{'measure_series':24} {len(frame):>8} rows  measures: {frame['measure'].nunique()}")
    for p in problems:
        print("PROBLEM:", p)
    print("OK: every table read the same by every reader" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
