"""Scale-out across captures with Dask: one engine per capture, the result
equal to one run with ``merge=True`` (the CLI's --merge) over them all.

How (docs/scale-out.md):

1. The captures are ordered by their first packet's timestamp, then path,
   then the place given (docs/design.md, "Several captures").
2. Phase 1, one task per capture: the capture alone. Its flow ids are
   offset by the packets read in the captures before it (ordinals count
   every record read, filtered or not).
3. A flow that ended with ``end_of_input`` may go on in the next capture.
   Consecutive captures linked by such flows form a run; phase 2, tasks
   per run (by chunks of keys): those captures merged, with a filter keeping only the keys of
   those flows (a filter never changes ordinals, the clock or the ticks).
   Its flows replace the phase-1 flows of those keys in those captures.
4. The records are put in the output order: by the position where each
   flow's end was found (wkp_flow_end_position, moved on like the ids),
   then by flow id (docs/output.md, "Order").
5. With slice_bytes, a large file is also cut into byte slices, each a
   task; a run of linked slices is redone from its whole files, keeping
   the flows that begin in those slices.
"""
import decimal
import json
import os
import re
import shutil
import struct
import tempfile

from .analyzer import Wa1kPcap
from .flow import head_end

_EOI = "end_of_input"
FILTER_CHUNK = 64
FILTER_MAX = 512
_ID = re.compile(rb'^\{"flow_id":(\d+),')


def first_packet_ns(path):
    """The timestamp (ns) of the first record of a pcap or pcapng file,
    None if it has none, is neither (e.g. compressed) or cannot be opened
    (the engine then says why)."""
    try:
        with open(path, "rb") as f:
            return _first(f)
    except (OSError, struct.error):
        return None


def _first(f):
    head = f.read(24)
    if len(head) < 4:
        return None
    magic = head[:4]
    for endian in "<>":
        m = struct.unpack(endian + "I", magic)[0]
        if m in (0xA1B2C3D4, 0xA1B23C4D):
            rec = f.read(16)
            if len(head) < 24 or len(rec) < 16:
                return None
            sec, frac = struct.unpack(endian + "II", rec[:8])
            return sec * 10**9 + (frac * 1000 if m == 0xA1B2C3D4 else frac)
    if magic == b"\x0a\x0d\x0d\x0a":
        return _pcapng_first(f, head)
    return None


def _pcapng_first(f, head):
    f.seek(0)
    endian = "<"
    resol = {}  # interface -> ticks per second
    n_if = 0
    while True:
        bh = f.read(8)
        if len(bh) < 8:
            return None
        if bh[:4] == b"\x0a\x0d\x0d\x0a":
            bom = f.read(4)
            endian = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            f.seek(-4, 1)
            n_if = 0
            resol = {}
        btype, blen = struct.unpack(endian + "II", bh)
        body = f.read(blen - 8)
        if len(body) < blen - 8 or blen < 12:
            return None
        if btype == 1:  # interface description: find if_tsresol
            tick = 10**6
            opts = body[8:-4]
            while len(opts) >= 4:
                code, ln = struct.unpack(endian + "HH", opts[:4])
                if code == 0:
                    break
                if code == 9 and ln >= 1:
                    v = opts[4]
                    tick = 2 ** (v & 0x7F) if v & 0x80 else 10 ** v
                opts = opts[4 + ((ln + 3) & ~3):]
            resol[n_if] = tick
            n_if += 1
        elif btype in (6, 2):  # enhanced / obsolete packet block
            if btype == 6:
                iface, hi, lo = struct.unpack(endian + "III", body[:12])
            else:
                iface, _, hi, lo = struct.unpack(endian + "HHII", body[:12])
            t = (hi << 32) | lo
            tick = resol.get(iface, 10**6)
            return t * 10**9 // tick


def _run(paths, options, merge, filt, scratch, span=None):
    """One engine run (on a worker): the NDJSON file it wrote in `scratch`,
    its packets read, and per record its fields, its end position
    (wkp_flow_end_position) and its byte span in that file. `span` (start,
    stop): only the records whose first byte lies there (stop None: to the
    end)."""
    import ctypes

    from . import _lib
    from .analyzer import _Engine

    opts = dict(options)
    if filt is not None:
        user = opts.pop("bpf_filter", None) or opts.pop("filter", None)
        opts["filter"] = "(%s) and (%s)" % (user, filt) if user else filt
    o = Wa1kPcap(merge=merge, **opts)._opts
    L = _lib.lib()
    cfg = ctypes.c_void_p()
    _lib.check(L.wkp_config_new(ctypes.byref(cfg)))
    err = _lib.ErrBuf()
    e = ctypes.c_void_p()
    try:
        _Engine._configure(L, cfg, o, err)
        if span is not None:
            stop = span[1] if span[1] is not None else 2**64 - 1
            _lib.check(L.wkp_config_set_offsets(cfg, span[0], stop))
        _lib.check(L.wkp_engine_new(cfg, ctypes.byref(e), ctypes.byref(err)),
                   err.msg.decode(errors="replace"))
    finally:
        L.wkp_config_free(cfg)
    lines, ends = [], []
    n = ctypes.c_size_t()

    def keep(flow, _user):
        p = L.wkp_flow_text(flow, _lib.FMT_NDJSON, ctypes.byref(n))
        lines.append(ctypes.string_at(p, n.value))
        ends.append(L.wkp_flow_end_position(flow))
        return 0

    cb = _lib.FLOW_FN(keep)
    try:
        sink = ctypes.c_void_p()
        _lib.check(L.wkp_sink_callback_new(cb, None, ctypes.byref(sink)))
        st = L.wkp_sink_callback_add_text(sink, _lib.FMT_NDJSON)
        if st < 0:
            L.wkp_sink_free(sink)
            _lib.check(st)
        st = L.wkp_engine_add_sink(e, sink)
        if st < 0:
            L.wkp_sink_free(sink)
            _lib.check(st)
        arr = (ctypes.c_char_p * len(paths))(*[os.fsencode(p) for p in paths])
        st = L.wkp_engine_run(e, arr, len(paths))
        if st < 0:
            msg = L.wkp_engine_last_error(e).decode(errors="replace")
            raise _lib.Wa1kPcapError(msg or _lib.STATUS.get(st, str(st)), st)
        packets = L.wkp_engine_counter(e, 0)  # WKP_CNT_PACKETS_READ
    finally:
        L.wkp_engine_free(e)
    fd, tmp = tempfile.mkstemp(suffix=".ndjson", dir=scratch)
    with os.fdopen(fd, "wb") as f:
        f.writelines(lines)
    spans, at = [], 0
    for x in lines:
        spans.append((at, at + len(x)))
        at += len(x)
    metas = []
    for x, pos in zip(lines, ends):
        m = _meta(x)
        m["end_pos"] = pos
        metas.append(m)
    return tmp, packets, metas, spans


_HEAD = ("flow_id", "protocol", "src_ip", "dst_ip", "src_port", "dst_port", "start_time",
         "end_time", "end_reason")


def _meta(line):
    """What the ordering and the filters need of a record, parsed on the
    worker: the fields before "features", and whether it was tunnelled
    ("tunnel" follows "features"; a quote inside a JSON string is escaped,
    so the text ,"tunnel":{ is the field)."""
    cut = head_end(line)
    text = line[:cut] + b"}" if cut > 0 else line
    head = json.loads(text, parse_float=decimal.Decimal)  # times exact to the ns
    m = {k: head.get(k) for k in _HEAD}
    m["end_ns"] = int(head["end_time"] * 10**9)
    m["start_ns"] = int(head["start_time"] * 10**9)
    m["end_time"] = m["start_time"] = None
    m["tunnel"] = b',"tunnel":{' in line
    return m


def _key_filter(rec):
    """A filter keeping the packets of this flow's key (both directions);
    None for a tunnelled flow (VLAN, MPLS, GRE...): its key is the inner
    header's, which the filter's host and port do not reliably see."""
    if rec.get("tunnel"):
        return None
    a, b = rec["src_ip"], rec["dst_ip"]
    proto = rec.get("protocol")
    parts = ["host %s" % a, "host %s" % b]
    if proto in ("TCP", "UDP"):
        parts += ["port %d" % rec["src_port"], "port %d" % rec["dst_port"], proto.lower()]
    return "(" + " and ".join(parts) + ")"


def _relabel(line, fid):
    """The line with its flow_id set to fid (the id is the record's first
    field)."""
    m = _ID.match(line)
    return b'{"flow_id":%d,' % fid + line[m.end():]


class _Rec:
    __slots__ = ("loc", "meta", "fid", "pos", "key", "reason", "end_ns")

    def __init__(self, loc, meta, offset):
        self.loc = loc  # (file, start, end) of its NDJSON line
        # ids and positions count the records read: moved on by the records
        # read before the run's first (docs/output.md, "Order")
        self.fid = meta["flow_id"] + offset
        self.pos = meta["end_pos"] + 4 * offset
        self.meta = head = meta
        # both directions: a flow's first packet in a capture may come
        # from either side, and the key names the first packet's sender first
        ends = sorted([(head.get("src_ip"), head.get("src_port")),
                       (head.get("dst_ip"), head.get("dst_port"))], key=repr)
        self.key = (head.get("protocol"), tuple(ends))
        self.reason = head["end_reason"]
        self.end_ns = head["end_ns"]


def analyze_many(paths, client, out_dir=None, part_size=100000, scratch_dir=None,
                 slice_bytes=None, dask_dataframe=False, **options):
    """The flows of the captures `paths` as one merged stream, analysed as
    Dask tasks on `client` (a distributed.Client), one engine per capture.
    `options` are Wa1kPcap's (except ``merge``). Returns a pandas DataFrame
    (wa1kpcap.to_dataframe's columns), or with `out_dir` writes the NDJSON
    records in order to out_dir/part-00000.ndjson, ... (`part_size` records
    each; their concatenation is the CLI's ``analyze --merge -f ndjson``)
    and returns the list of files written. Each task writes its records
    into `scratch_dir`, a directory the workers and the client share
    (default: a new temporary directory, for workers on this machine);
    only the records' fields travel through Dask. Its files are removed.

    `dask_dataframe` (with `out_dir`): return a dask DataFrame whose
    partitions are the parts written, each read by a task (so the workers
    must see `out_dir`), instead of the list of files.

    `slice_bytes`: a pcap or pcapng file larger than this is also cut into
    byte slices of about this size, one task each (records belong to the
    slice their first byte lies in); flows cut at a slice boundary are
    stitched like flows that go on into the next file."""
    options.pop("merge", None)
    paths = [os.fspath(p) for p in paths]
    if not paths:
        raise ValueError("analyze_many: no captures")
    if dask_dataframe and out_dir is None:
        raise ValueError("analyze_many: dask_dataframe needs out_dir (its partitions read the parts)")
    if slice_bytes is not None and int(slice_bytes) < 1:
        raise ValueError("analyze_many: slice_bytes must be at least 1")
    starts = client.gather(client.map(first_packet_ns, paths, pure=False))
    order = sorted(range(len(paths)),
                   key=lambda i: (starts[i] is None, starts[i] or 0, paths[i], i))
    # units: (path, span or None); a slice's first timestamp comes from its run
    units, t0 = [], []
    for i in order:
        size = os.path.getsize(paths[i]) if slice_bytes else 0
        if not slice_bytes or starts[i] is None or size <= int(slice_bytes):
            units.append((paths[i], None))
            t0.append(starts[i])
            continue
        cuts = list(range(0, size, int(slice_bytes)))
        for k, at in enumerate(cuts):
            units.append((paths[i], (at, cuts[k + 1] if k + 1 < len(cuts) else None)))
            t0.append(starts[i] if k == 0 else _UNKNOWN)
    if scratch_dir is None:
        scratch = tempfile.mkdtemp(prefix="wa1kpcap-dask-")
        try:
            return _many(units, t0, client, out_dir, part_size, scratch, options, dask_dataframe)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return _many(units, t0, client, out_dir, part_size, scratch_dir, options,
                 dask_dataframe)


_UNKNOWN = object()


def _load_part(path, columns):
    """One NDJSON part as a pandas DataFrame (a dask partition)."""
    from .export import to_dataframe
    from .flow import Flow

    with open(path, "rb") as f:
        return to_dataframe([Flow(line) for line in f], columns=columns)


def _dask_frame(parts, columns):
    """A dask DataFrame with one partition a part, read lazily by the
    workers. Its meta (column names and dtypes) is the first part's; each
    partition keeps the dtypes pandas gives its own records."""
    import dask
    import dask.dataframe as dd

    meta = _load_part(parts[0], columns).iloc[:0]
    return dd.from_delayed([dask.delayed(_load_part)(p, columns) for p in parts], meta=meta,
                           verify_meta=False)


def _phase2_inputs(units, a, b):
    """The phase-2 run for units a..b: the paths to merge and the index of
    the unit whose offset its ids start from.
    Slices are redone from whole files, the records outside a..b dropped
    by id (ids are ordinals, the same in a run over the whole file)."""
    if all(units[q][1] is None for q in range(a, b + 1)):
        return [units[q][0] for q in range(a, b + 1)], a
    paths = []
    for q in range(a, b + 1):
        if not paths or paths[-1] != units[q][0]:
            paths.append(units[q][0])
    first = a
    while first > 0 and units[first][1] is not None and units[first][1][0] > 0:
        first -= 1
    return paths, first


def _many(units, t0, client, out_dir, part_size, scratch, options, dask_dataframe=False):
    from .export import to_dataframe
    from .flow import Flow

    tcp = float(options.get("tcp_timeout", options.get("tcp_cleanup_timeout", 300.0)))
    udp = float(options.get("udp_timeout", 0.0))

    # phase 1: each capture (or slice) alone
    futs = [client.submit(_run, [p], options, False, None, scratch, span, pure=False)
            for p, span in units]
    res = client.gather(futs)
    offsets = [0]
    for _, n, _, _ in res:
        offsets.append(offsets[-1] + n)
    recs = [[_Rec((path, a, b), m, offsets[i])
             for m, (a, b) in zip(metas, spans)]
            for i, (path, _, metas, spans) in enumerate(res)]
    # a later slice's first timestamp: its earliest flow start (None: no flow)
    t0 = [min((r.meta["start_ns"] for r in recs[q]), default=None) if t is _UNKNOWN else t
          for q, t in enumerate(t0)]

    # runs of captures linked by flows that may go on: a key stays pending
    # while its last flow so far ended with end_of_input
    # captures that overlap in time interleave in the merged stream: all
    # their flows are redone (seen by a flow of one ending after the next
    # one's first packet; a filtered packet later than that is not seen)
    nf = len(units)
    overlap = [q + 1 < nf and t0[q + 1] is not None and
               any(r.end_ns > t0[q + 1] for r in recs[q]) for q in range(nf)]
    groups = []  # (first, last, keys to redo, whole: merged unfiltered)
    i = 0
    while i < nf:
        pending = {}
        j = i
        while True:
            seen_last = {}
            for r in recs[j]:
                seen_last[r.key] = r
            for k, r in seen_last.items():
                if r.reason == _EOI:
                    pending[k] = r
                else:
                    pending.pop(k, None)
            if j > i:
                # a key idle longer than its timeout when this capture
                # began ended there (in this run); it goes on no further.
                # TCP: the open timeout, the longer one; 0: never idle
                for k, r in list(pending.items()):
                    if k not in seen_last and t0[j] is not None:
                        wait = tcp if r.meta.get("protocol") == "TCP" else udp
                        if wait > 0 and t0[j] - r.end_ns > wait * 1e9:
                            del pending[k]
            if (not pending and not overlap[j]) or j == nf - 1:
                break
            j += 1
        whole = any(overlap[i:j])
        keys = set()
        for q in range(i, j + 1):
            keys.update(r.key for r in recs[q] if whole or r.reason == _EOI)
        if j > i and keys:
            groups.append((i, j, keys, whole))
        i = j + 1

    # phase 2: each run merged, filtered to its keys; a filter's compile
    # time grows with the square of its terms, so the keys go by chunks of
    # FILTER_CHUNK (one task each), and a run with more than FILTER_MAX keys
    # is merged whole, unfiltered
    jobs, tags = [], []
    for (a, b, keys, whole) in groups:
        reps = {}
        for q in range(a, b + 1):
            for r in recs[q]:
                if r.key in keys and r.key not in reps:
                    reps[r.key] = r.meta
        parts = {k: _key_filter(h) for k, h in reps.items()}
        # a key the filter cannot name: the run is merged whole, unfiltered
        if whole or None in parts.values() or len(parts) > FILTER_MAX:
            chunks = [(keys, None)]
        else:
            ks = sorted(parts, key=repr)
            chunks = [(set(ks[c:c + FILTER_CHUNK]),
                       " or ".join(parts[k] for k in ks[c:c + FILTER_CHUNK]))
                      for c in range(0, len(ks), FILTER_CHUNK)]
        run_paths, first = _phase2_inputs(units, a, b)
        for ck, filt in chunks:
            jobs.append(client.submit(_run, run_paths, options, True, filt, scratch,
                                      pure=False))
            tags.append((a, b, ck, first))
    merged = client.gather(jobs)

    # every record kept, in the order of one run: by the position where its
    # end was found, then by id (flows still open at the end share the last
    # position)
    out = []
    for q in range(nf):
        keep = recs[q]
        for (a, b, keys, _) in groups:
            if a <= q <= b:
                keep = [r for r in keep if r.key not in keys]
        out += keep
    for (a, b, keys, first), (path, _, metas, spans) in zip(tags, merged):
        for m, sp in zip(metas, spans):
            r = _Rec((path,) + sp, m, offsets[first])
            if r.key in keys and offsets[a] <= r.fid < offsets[b + 1]:
                out.append(r)
    out.sort(key=lambda r: (r.pos, r.fid))
    texts = {}
    for r in out:
        if r.loc[0] not in texts:
            with open(r.loc[0], "rb") as f:
                texts[r.loc[0]] = f.read()
    lines = [_relabel(texts[r.loc[0]][r.loc[1]:r.loc[2]], r.fid) for r in out]
    texts = None
    for p in [x[0] for x in res] + [x[0] for x in merged]:
        os.unlink(p)

    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        written = []
        for n, at in enumerate(range(0, max(1, len(lines)), part_size)):
            p = os.path.join(out_dir, "part-%05d.ndjson" % n)
            with open(p, "wb") as f:
                f.writelines(lines[at:at + part_size])
            written.append(p)
        if dask_dataframe:
            return _dask_frame(written, Wa1kPcap(**options).columns())
        return written
    return to_dataframe([Flow(line) for line in lines],
                        columns=Wa1kPcap(**options).columns())
