"""Flow records as Python objects, built from the engine's NDJSON line.

A Flow keeps the record's three texts (its CSV row, JSON array element and
NDJSON line, the bytes the CLI writes) so that the exporters reproduce the
CLI's files exactly, and parses the NDJSON line once for attribute access.
"""
import json

try:
    import numpy as _np
except ImportError:  # sequences stay lists
    _np = None

# The original's short statistic names: pkt_mean is stats["packet_lengths"]["mean"].
_SHORT = {
    "pkt": "packet_lengths",
    "ip": "ip_lengths",
    "trans": "trans_lengths",
    "app": "app_lengths",
    "iat": "iats",
}

# The sequences whose values are times (float64); the others are integers.
_FLOAT_SEQS = {"timestamps", "iats"}


class Record(dict):
    """A JSON object with attribute access (``flow.tls.sni``); a missing
    attribute is None, as a protocol field the flow did not carry."""

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)


def _record(v):
    if isinstance(v, dict):
        return Record((k, _record(x)) for k, x in v.items())
    if isinstance(v, list):
        return [_record(x) for x in v]
    return v


class Features(dict):
    """The per-packet sequences by name (``flow.features.packet_lengths`` or
    ``flow.features["iats"]``): NumPy arrays when NumPy imports (int64, or
    float64 for timestamps and iats), else lists."""

    __slots__ = ()

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _sequence(name, values):
    if _np is None:
        return values
    return _np.asarray(values, dtype=_np.float64 if name in _FLOAT_SEQS else _np.int64)


class Flow:
    """One flow record. Attributes are the output's fields (docs/output.md):
    ``key``, ``flow_id``, ``capture``, ``protocol``, ``src_ip``, ``dst_ip``,
    ``src_port``, ``dst_port``, ``start_time``, ``end_time``, ``duration``,
    ``packet_count``, ``byte_count``, ``up_packet_count`` ... ``end_reason``,
    ``community_id``; protocol objects (``tls``, ``dns``, ``http``, ``quic``,
    ``dhcp``, ``dhcpv6``, ``icmp``, ``tunnel``, ``proto.<name>``) as Records,
    None when absent; ``features`` (the sequences), ``stats`` (the statistics:
    ``stats["iats"]["median"]``, ``stats["packet_count"]``), the original's
    short names (``pkt_mean``, ``iat_std``, ``pkt_up_count``), ``custom``
    (custom features by name). ``record`` is the parsed NDJSON object."""

    __slots__ = ("record", "features", "stats", "custom", "_csv", "_json", "_ndjson", "_header")

    def __init__(self, ndjson, csv_row=b"", json_elem=b"", header=b""):
        self._header = header  # the run's CSV header line, shared by its flows
        self._ndjson = ndjson
        self._csv = csv_row
        self._json = json_elem
        rec = json.loads(ndjson)
        feats = rec.get("features", {})
        stats = feats.get("statistics", {})
        self.features = Features(
            (k, _sequence(k, v)) for k, v in feats.items() if k != "statistics")
        self.stats = _record(stats)
        self.custom = {}
        for k, v in rec.items():
            if k.startswith("custom."):
                self.custom[k[len("custom."):]] = v
        if isinstance(rec.get("custom"), dict):
            self.custom.update(rec["custom"])
        self.record = rec

    def __getattr__(self, name):
        rec = object.__getattribute__(self, "record")
        if name in rec:
            return _record(rec[name])
        prefix, _, stat = name.partition("_")
        if prefix in _SHORT and stat:
            block = self.stats.get(_SHORT[prefix])
            if block is not None and stat in block:
                return block[stat]
        if name.startswith("_"):
            raise AttributeError(name)
        return None  # a field this flow does not carry (e.g. tls of a DNS flow)

    def __getitem__(self, column):
        """A value by CSV column name ("feature.iats.median", "tls"), None if
        the flow has no value there."""
        return column_value(self, column)

    def __repr__(self):
        return "Flow(%s, packets=%s)" % (self.record.get("key"), self.record.get("packet_count"))

    @property
    def csv_row(self):
        """The CSV row the CLI writes for this flow (bytes, with its newline)."""
        return self._csv

    @property
    def ndjson_line(self):
        """The NDJSON line the CLI writes for this flow (bytes, with its newline)."""
        return self._ndjson


def column_value(flow, column):
    """The value of CSV column `column` for `flow`: numbers, strings, lists
    (sequences, ext_protocol) or dicts (protocol objects), None if absent."""
    rec = flow.record
    if column.startswith("feature."):
        rest = column[len("feature."):]
        feats = rec.get("features", {})
        if rest in feats and rest != "statistics":
            return feats[rest]
        stats = feats.get("statistics", {})
        if rest in stats:
            return stats[rest]
        block, _, stat = rest.partition(".")
        return stats.get(block, {}).get(stat)
    if column in rec:
        return rec[column]
    if column.startswith("custom."):
        return flow.custom.get(column[len("custom."):])
    return None
