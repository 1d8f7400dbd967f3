"""Exports: a pandas DataFrame, and the CLI's CSV / JSON / NDJSON bytes.

to_csv, to_json and to_ndjson write the texts the engine made for each
flow with the CLI's writers, framed as the CLI frames them, so a file
written here is byte-identical to ``wa1kpcap analyze`` with the same
options (custom features registered in Python are not columns).
"""
import io
import os

from .flow import column_value


def _flows_and_header(flows, header):
    flows = list(flows)
    if header is None:
        if flows:
            header = flows[0]._header
        else:
            from .analyzer import Wa1kPcap
            header = Wa1kPcap().csv_header()
    return flows, header


def _write(data, path):
    if path is None:
        return data
    if hasattr(path, "write"):
        path.write(data if not isinstance(path, io.TextIOBase) else data.decode())
        return None
    with open(os.fspath(path), "wb") as f:
        f.write(data)
    return None


def to_csv(flows, path=None, header=None):
    """The CLI's CSV (header, then one row per flow) as bytes, or written to
    `path` (a file name or a file object) when given. `header` defaults to
    the flows' run's header (with no flow: the default options' header)."""
    flows, header = _flows_and_header(flows, header)
    return _write(header + b"".join(f._csv for f in flows), path)


def to_json(flows, path=None):
    """The CLI's JSON array (indented) as bytes, or written to `path`."""
    parts = [b"["]
    n = 0
    for f in flows:
        parts.append(b",\n" if n else b"\n")
        parts.append(f._json)
        n += 1
    parts.append(b"\n]\n" if n else b"]\n")
    return _write(b"".join(parts), path)


def to_ndjson(flows, path=None):
    """The CLI's NDJSON (one object per line) as bytes, or written to `path`."""
    return _write(b"".join(f._ndjson for f in flows), path)


def to_dataframe(flows, columns=None):
    """A pandas DataFrame with one row per flow and one column per CSV column
    (or the given column names), typed as in the JSON output: integers,
    floats, strings, sequences as list cells, protocol objects as dicts,
    None where a flow has no value. Custom features registered in Python
    are added as ``custom.<name>`` columns."""
    import pandas as pd

    flows = list(flows)
    if columns is None:
        if flows:
            columns = flows[0]._header.decode().rstrip("\n").split(",")
        else:
            from .analyzer import Wa1kPcap
            columns = Wa1kPcap().columns()
    extra = []
    for f in flows:
        for k in f.custom:
            name = "custom." + k
            if name not in columns and name not in extra:
                extra.append(name)
    cols = list(columns) + extra
    data = {c: [column_value(f, c) for f in flows] for c in cols}
    return pd.DataFrame(data, columns=cols)
