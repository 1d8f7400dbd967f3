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


def head_end(line):
    """Where the top-level fields before "features" end in an NDJSON record
    (the offset of ,"features":), or -1 when that cannot be told from the
    text alone. A JSON string holds a quote only escaped, so ,"features":
    is a key; the base fields hold no object, so with no { before it, it is
    the top-level one. With --columns a record may have no "features", and
    a protocol object may then hold that key (an HTTP header so named)."""
    cut = line.find(b',"features":')
    return cut if cut > 0 and line.find(b"{", 1, cut) < 0 else -1


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


class _NoBlock(dict):
    """The block of a statistic the flow does not have: every value None."""

    __slots__ = ()

    def __missing__(self, key):
        return None


class Stats(dict):
    """The statistics by block; a block the flow lacks (the output leaves it
    out: e.g. iats of a one-packet flow, tcp_window of a UDP flow) reads as
    one whose statistics are all None, so ``stats["iats"]["median"]``
    always works. ``"iats" in stats`` tells whether it is there."""

    __slots__ = ()

    def __missing__(self, key):
        return _NoBlock()


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

    __slots__ = ("_rec", "_head", "_features", "_custom", "_csv", "_json", "_ndjson", "_header")

    def __init__(self, ndjson, csv_row=b"", json_elem=b"", header=b""):
        self._header = header  # the run's CSV header line, shared by its flows
        self._ndjson = ndjson
        self._csv = csv_row
        self._json = json_elem
        self._rec = None  # parsed on first use: exporting needs only the texts
        self._head = None  # the base fields alone (before "features"): a cheap parse
        self._features = None
        self._custom = {}

    @property
    def record(self):
        """The flow's NDJSON object, parsed (dicts and lists)."""
        if self._rec is None:
            self._rec = json.loads(self._ndjson)
        return self._rec

    @property
    def features(self):
        if self._features is None:
            feats = self.record.get("features", {})
            self._features = Features(
                (k, _sequence(k, v)) for k, v in feats.items() if k != "statistics")
        return self._features

    @property
    def stats(self):
        """The statistics: one dict per block ("packet_lengths", "iats"...)
        of its statistics ("mean", "median", "up_count"...), then the
        scalars ("packet_count", "duration"...). See Stats."""
        return Stats(self.record.get("features", {}).get("statistics", {}))

    @property
    def custom(self):
        """Custom features by name: C plugins' (custom.<name> columns) and
        Python ones (register_feature)."""
        d = {k[len("custom."):]: v for k, v in self.record.items() if k.startswith("custom.")}
        d.update(self._custom)
        return d

    def _set_custom(self, name, value):
        self._custom[name] = value

    def _base(self):
        """The top-level fields before "features" (key, counts, times...),
        parsed from the line's start: a tenth of the line or less."""
        if self._head is None:
            cut = head_end(self._ndjson)
            # no cheap part: {} sends every name to the record, which wraps
            # objects as Records
            self._head = json.loads(self._ndjson[:cut] + b"}") if cut > 0 else {}
        return self._head

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._rec is None:
            head = self._base()
            if name in head:
                return head[name]
        rec = self.record
        if name in rec:
            return _record(rec[name])
        prefix, _, stat = name.partition("_")
        if prefix in _SHORT and stat:
            block = self.stats.get(_SHORT[prefix])
            if block is not None and stat in block:
                return block[stat]
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
