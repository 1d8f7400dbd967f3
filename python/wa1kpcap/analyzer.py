"""Wa1kPcap: the engine behind a Python iterator.

The engine runs on a thread of its own (wkp_engine_run releases the GIL
while it works); its callback sink hands each flow's texts to a bounded
queue and blocks while the queue is full, so a slow consumer slows the
engine and memory stays bounded by the queue and the engine's own bounded
hand-off. Closing the iterator early stops the engine.
"""
import ctypes
import glob
import os
import queue
import threading

from . import _lib
from ._lib import FMT_CSV, FMT_JSON, FMT_NDJSON, Wa1kPcapError, check, lib
from .flow import Flow

_DEFAULT_FILTER = "not arp and not icmp and not icmpv6 and not dhcp and not dhcpv6"
_KEEP = object()  # an option left at the library's default
_DONE = object()
# wkp_counter's values in order (include/wa1kpcap/wa1kpcap.h)
_COUNTERS = ("packets_read", "bytes_read", "in_flow", "filtered", "flow_filtered",
             "retransmission", "ack_filtered", "rst_filtered", "fragment_merged",
             "fragment_expired", "not_ip", "malformed", "flow_table_full", "flows",
             "unsupported_link")


class Wa1kPcap:
    """An analyser: options now, then ``analyze_file``/``analyze_files``/
    ``analyze_directory``, each a stream of Flow objects.

    Options of the original package: ``bpf_filter`` (also ``filter``),
    ``default_filter``, ``udp_timeout``, ``tcp_cleanup_timeout`` (idle
    timeout of TCP flows; also ``tcp_timeout``), ``filter_ack``,
    ``filter_rst``, ``filter_retrans``, ``enable_reassembly`` (IP fragment
    reassembly), ``app_layer_parsing`` ("full", "port_only", "none"),
    ``engine`` ("native" only), ``compute_statistics`` (True only),
    ``verbose_mode`` and ``save_raw_bytes`` (False only: per-packet records
    are the sequences). Ours: ``compat``, ``threads``, ``reader``,
    ``tcp_close_timeout``, ``max_seq``, ``min_packets``, ``max_flows``,
    ``columns``, ``sequences``, ``app_options`` (dict), ``protocol_dirs``,
    ``signatures``, ``signature_depth``... see docs/python.md;
    ``plugins`` (C shared objects, as the CLI's --plugin), ``strict``,
    ``resync``, ``vxlan_ports``, ``tcp_stream_limit``, ``merge`` (the
    captures of ``analyze_files`` as one time-ordered stream, as the CLI's
    --merge), ``queue_size`` (flows buffered between the engine and the
    iterator, default 256).
    A bad value raises Wa1kPcapError with the library's message; an
    unknown option raises TypeError."""

    def __init__(self, *, bpf_filter=None, filter=None, default_filter=_DEFAULT_FILTER,
                 udp_timeout=_KEEP, tcp_cleanup_timeout=_KEEP, tcp_timeout=_KEEP,
                 tcp_close_timeout=_KEEP, filter_ack=False, filter_rst=False,
                 filter_retrans=True, enable_reassembly=True, app_layer_parsing="full",
                 compat=False, threads=0, reader="auto", max_seq=_KEEP, min_packets=_KEEP,
                 max_flows=_KEEP, columns=None, sequences=True, app_options=None,
                 protocol_dirs=(), routes=(), signatures=None, plugins=(), strict=False,
                 resync=False, vxlan_ports=(), tcp_stream_limit=_KEEP, queue_size=256,
                 engine="native", compute_statistics=True, verbose_mode=False,
                 save_raw_bytes=False, merge=False):
        if engine != "native":
            raise Wa1kPcapError("engine=%r: this package has the native engine only" % engine)
        if not compute_statistics or verbose_mode or save_raw_bytes:
            raise Wa1kPcapError("compute_statistics=False, verbose_mode and save_raw_bytes "
                                "are not supported: every flow carries its statistics and "
                                "per-packet sequences")
        if app_layer_parsing not in _lib.APP_LAYER:
            raise Wa1kPcapError("app_layer_parsing=%r: must be one of %s"
                                % (app_layer_parsing, ", ".join(_lib.APP_LAYER)))
        if reader not in _lib.READER:
            raise Wa1kPcapError("reader=%r: must be one of %s" % (reader, ", ".join(_lib.READER)))
        if bpf_filter and filter:
            raise Wa1kPcapError("give bpf_filter or filter, not both")
        if tcp_timeout is not _KEEP and tcp_cleanup_timeout is not _KEEP:
            raise Wa1kPcapError("give tcp_timeout or tcp_cleanup_timeout, not both")
        if int(queue_size) < 1:
            raise Wa1kPcapError("queue_size=%r: must be >= 1" % queue_size)
        self._opts = dict(
            filter=bpf_filter or filter, default_filter=default_filter,
            udp_timeout=udp_timeout,
            tcp_timeout=tcp_timeout if tcp_timeout is not _KEEP else tcp_cleanup_timeout,
            tcp_close_timeout=tcp_close_timeout, filter_ack=filter_ack, filter_rst=filter_rst,
            filter_retrans=filter_retrans, reassembly=enable_reassembly,
            app_layer=_lib.APP_LAYER[app_layer_parsing], compat=compat, threads=threads,
            reader=_lib.READER[reader], max_seq=max_seq, min_packets=min_packets,
            max_flows=max_flows, columns=columns, sequences=sequences,
            app_options=dict(app_options or {}), protocol_dirs=list(protocol_dirs),
            routes=list(routes), signatures=signatures, plugins=list(plugins), strict=strict,
            resync=resync, vxlan_ports=list(vxlan_ports), tcp_stream_limit=tcp_stream_limit,
            merge=merge)
        self.queue_size = int(queue_size)
        self._custom = {}
        self._engine_for([]).close()  # check every option now

    def register_feature(self, name, fn):
        """A custom feature in Python: fn(flow) is called once per flow, on
        the iterating thread, and its result is ``flow.custom[name]``. It
        does not appear in to_csv/to_json (which repeat the CLI's bytes);
        a C plugin (``plugins=[...]``) adds a column. See docs/python.md
        for what each costs."""
        if not callable(fn):
            raise TypeError("register_feature: fn must be callable")
        self._custom[str(name)] = fn

    def analyze_file(self, path):
        """The flows of one capture, as an iterator (see FlowStream)."""
        return FlowStream(self, [os.fspath(path)])

    def analyze_files(self, paths):
        """The flows of several captures, each analysed on its own, in order."""
        return FlowStream(self, [os.fspath(p) for p in paths])

    def analyze_fd(self, fd, name="-"):
        """The flows of one capture read from an open descriptor or file
        object (a pipe, a socket, ``sys.stdin.buffer``, a subprocess's
        stdout) until its end; `name` is its ``capture`` field. The
        descriptor is not closed."""
        if not isinstance(fd, int):
            fd = fd.fileno()
        return FlowStream(self, [str(name)], fd=fd)

    def analyze_packets(self, packets, linktype=1, name="-"):
        """The flows of packets given one by one: `packets` yields
        ``(timestamp, data)`` or ``(timestamp, data, wire_length)``, the
        timestamp in seconds (float) or nanoseconds (int), data the frame's
        bytes of pcap link type `linktype` (1 Ethernet, 101 raw IP). The
        iterable is consumed on the engine's thread as it needs packets."""
        return FlowStream(self, [str(name)], packets=(packets, int(linktype)))

    def analyze_directory(self, directory, pattern=None):
        """The flows of the captures in a directory (not recursive): files
        matching `pattern` (a glob; default *.pcap, *.pcapng, *.cap), in
        name order. Flows name their file in ``flow.capture``."""
        directory = os.fspath(directory)
        if not os.path.isdir(directory):
            raise Wa1kPcapError("%s: not a directory" % directory, -3)
        pats = [pattern] if pattern else ["*.pcap", "*.pcapng", "*.cap"]
        files = sorted({f for p in pats for f in glob.glob(os.path.join(directory, p))
                        if os.path.isfile(f)})
        return FlowStream(self, files)

    def columns(self):
        """The CSV column names these options write, in order."""
        e = self._engine_for([])
        try:
            return e.columns()
        finally:
            e.close()

    def csv_header(self):
        """The CSV header line (bytes) these options write."""
        e = self._engine_for([])
        try:
            return e.header()
        finally:
            e.close()

    def _engine_for(self, paths, fd=None, packets=None):
        return _Engine(self._opts, paths, fd, packets)


class _Engine:
    """A configured wkp_engine with its callback sink (not yet run)."""

    def __init__(self, o, paths, fd=None, packets=None):
        L = lib()
        self.L = L
        self.e = None
        self.paths = paths
        self.fd = fd
        self.packets = packets
        self.push_error = None
        self.on_flow = None
        cfg = ctypes.c_void_p()
        check(L.wkp_config_new(ctypes.byref(cfg)))
        err = _lib.ErrBuf()
        try:
            self._configure(L, cfg, o, err)
            e = ctypes.c_void_p()
            st = L.wkp_engine_new(cfg, ctypes.byref(e), ctypes.byref(err))
            check(st, err.msg.decode(errors="replace"))
            self.e = e
        finally:
            L.wkp_config_free(cfg)
        self._cb = _lib.FLOW_FN(self._callback)  # kept alive as long as the engine
        sink = ctypes.c_void_p()
        check(L.wkp_sink_callback_new(self._cb, None, ctypes.byref(sink)))
        for fmt in (FMT_CSV, FMT_JSON, FMT_NDJSON):
            st = L.wkp_sink_callback_add_text(sink, fmt)
            if st < 0:
                L.wkp_sink_free(sink)
                check(st)
        st = L.wkp_engine_add_sink(self.e, sink)
        if st < 0:
            L.wkp_sink_free(sink)
            check(st, self.last_error())

    @staticmethod
    def _configure(L, cfg, o, err):
        def opt(what, st):
            if st < 0:
                msg = err.msg.decode(errors="replace") if err.msg else ""
                raise Wa1kPcapError(msg or "%s: %s" % (what, _lib.STATUS.get(st, st)), st)

        def enc(s):
            return None if s is None else os.fsencode(s) if not isinstance(s, bytes) else s

        err.msg = b""
        if o["compat"]:
            opt("compat", L.wkp_config_set_compat(cfg, True))
        opt("threads=%r" % o["threads"], L.wkp_config_set_threads(cfg, int(o["threads"])))
        opt("reader", L.wkp_config_set_reader(cfg, o["reader"]))
        for k in ("udp_timeout", "tcp_timeout", "tcp_close_timeout"):
            if o[k] is not _KEEP:
                opt("%s=%r" % (k, o[k]), getattr(L, "wkp_config_set_" + k)(cfg, float(o[k])))
        for k in ("max_seq", "min_packets", "max_flows"):
            if o[k] is not _KEEP:
                if int(o[k]) < 0:
                    opt("%s=%r" % (k, o[k]), -1)
                opt("%s=%r" % (k, o[k]), getattr(L, "wkp_config_set_" + k)(cfg, int(o[k])))
        opt("filter_ack", L.wkp_config_set_filter_ack(cfg, bool(o["filter_ack"])))
        opt("filter_rst", L.wkp_config_set_filter_rst(cfg, bool(o["filter_rst"])))
        opt("filter_retrans", L.wkp_config_set_filter_retrans(cfg, bool(o["filter_retrans"])))
        opt("enable_reassembly", L.wkp_config_set_reassembly(cfg, bool(o["reassembly"])))
        opt("app_layer_parsing", L.wkp_config_set_app_layer(cfg, o["app_layer"]))
        opt("sequences", L.wkp_config_set_sequences(cfg, bool(o["sequences"])))
        opt("strict", L.wkp_config_set_strict(cfg, bool(o["strict"])))
        opt("resync", L.wkp_config_set_resync(cfg, bool(o["resync"])))
        if o["merge"]:
            opt("merge", L.wkp_config_set_merge(cfg, True))
        opt("filter", L.wkp_config_set_filter(cfg, enc(o["filter"])))
        opt("default_filter", L.wkp_config_set_default_filter(cfg, enc(o["default_filter"])))
        cols = o["columns"]
        if cols is not None and not isinstance(cols, str):
            cols = ",".join(cols)
        opt("columns", L.wkp_config_set_columns(cfg, enc(cols)))
        for k, v in o["app_options"].items():
            opt("app_options %s" % k,
                L.wkp_config_set_app_option(cfg, enc(k), None if v is None else enc(str(v))))
        for d in o["protocol_dirs"]:
            opt("protocol_dirs", L.wkp_config_add_protocols_dir(cfg, enc(d), ctypes.byref(err)))
        for port in o["vxlan_ports"]:
            opt("vxlan_ports %r" % port, L.wkp_config_add_vxlan_port(cfg, int(port)))
        if o["tcp_stream_limit"] is not _KEEP:
            opt("tcp_stream_limit", L.wkp_config_set_tcp_reassembly(
                cfg, int(o["tcp_stream_limit"]), 512 << 20))
        if o["signatures"]:
            opt("signatures", L.wkp_config_set_signatures(cfg, enc(o["signatures"]),
                                                          ctypes.byref(err)))
        for p in o["plugins"]:
            opt("plugins", L.wkp_config_load_plugin(cfg, enc(p), ctypes.byref(err)))

    def _callback(self, flow, user):
        L = self.L
        n = ctypes.c_size_t()
        texts = []
        for fmt in (FMT_NDJSON, FMT_CSV, FMT_JSON):
            p = L.wkp_flow_text(flow, fmt, ctypes.byref(n))
            texts.append(ctypes.string_at(p, n.value) if p else b"")
        try:
            return 1 if self.on_flow(texts) else 0
        except BaseException:  # never let an exception cross into C
            return 1

    def last_error(self):
        return self.L.wkp_engine_last_error(self.e).decode(errors="replace")

    def columns(self):
        n = self.L.wkp_engine_column_count(self.e)
        return [self.L.wkp_engine_column_name(self.e, i).decode() for i in range(n)]

    def header(self):
        need = ctypes.c_size_t()
        self.L.wkp_engine_csv_header(self.e, None, 0, ctypes.byref(need))
        buf = ctypes.create_string_buffer(need.value + 1)
        check(self.L.wkp_engine_csv_header(self.e, buf, need.value + 1, ctypes.byref(need)))
        return buf.raw[:need.value]

    def _push(self):
        L = self.L
        packets, linktype = self.packets
        p = ctypes.c_void_p()
        st = L.wkp_push_start(self.e, linktype, os.fsencode(self.paths[0]), ctypes.byref(p))
        if st < 0:
            return st
        try:
            for pkt in packets:
                ts, data = pkt[0], bytes(pkt[1])
                wire = int(pkt[2]) if len(pkt) > 2 else len(data)
                ns = ts if isinstance(ts, int) else int(round(ts * 1e9))
                st = L.wkp_push_packet(p, ns, data, len(data), wire)
                if st == -1:
                    self.push_error = "packet at %r: bad timestamp or length" % (ts,)
                    break
                if st < 0:
                    break  # the run ended: wkp_push_finish says why
        except BaseException as e:  # reported as the stream's error
            self.push_error = "packets: %s: %s" % (type(e).__name__, e)
        st = L.wkp_push_finish(p)
        return -1 if self.push_error and st == 0 else st

    def run(self):
        if self.packets is not None:
            return self._push()
        if self.fd is not None:
            return self.L.wkp_engine_run_fd(self.e, self.fd, os.fsencode(self.paths[0]))
        arr = (ctypes.c_char_p * max(1, len(self.paths)))(*[os.fsencode(p) for p in self.paths])
        return self.L.wkp_engine_run(self.e, arr, len(self.paths))

    def stop(self):
        if self.e:
            self.L.wkp_engine_stop(self.e)

    def close(self):
        if self.e:
            self.L.wkp_engine_free(self.e)
            self.e = None


class FlowStream:
    """An iterator of Flow objects from one engine run. The engine starts at
    the first ``next()``; a library error (a missing file, not a capture, a
    damaged one with strict on...) raises Wa1kPcapError from ``next()`` with
    the library's one-line message, after the flows written before it.
    ``close()`` (or leaving a ``for`` loop and dropping the stream) stops
    the engine. ``columns`` and ``header`` describe the CSV columns;
    ``warnings`` holds the run's warnings and ``counters`` its counters
    (``packets_read``, ``filtered``, ``flows``... by name) once it ended."""

    def __init__(self, analyzer, paths, fd=None, packets=None):
        self._eng = analyzer._engine_for(paths, fd, packets)
        self._custom = dict(analyzer._custom)
        self._q = queue.Queue(maxsize=analyzer.queue_size)
        self._stop = threading.Event()
        self._thread = None
        self._finished = False
        self.columns = self._eng.columns()
        self.header = self._eng.header()
        self.warnings = ""
        self.counters = {}
        self._eng.on_flow = self._put

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._q.put(item, timeout=0.05)
                return False
            except queue.Full:
                continue
        return True  # stop the engine: nobody reads any more

    def _run(self):
        st = -1
        try:
            st = self._eng.run()
        finally:
            self._put((_DONE, st))

    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wa1kpcap-engine",
                                            daemon=True)
            self._thread.start()
        item = self._q.get()
        if item[0] is _DONE:
            st = item[1]
            self._thread.join()
            self._finished = True
            msg = self._eng.push_error or self._eng.last_error()
            self.warnings = self._eng.L.wkp_engine_warnings(self._eng.e).decode(errors="replace")
            self.counters = {name: self._eng.L.wkp_engine_counter(self._eng.e, i)
                             for i, name in enumerate(_COUNTERS)}
            self._eng.close()
            if st < 0:
                raise Wa1kPcapError(msg or _lib.STATUS.get(st, str(st)), st)
            raise StopIteration
        flow = Flow(item[0], item[1], item[2], self.header)
        for name, fn in self._custom.items():
            flow._set_custom(name, fn(flow))
        return flow

    def close(self):
        """Stop the engine (if it runs) and free it. Idempotent."""
        if self._finished:
            return
        self._stop.set()
        self._eng.stop()
        if self._thread is not None:
            self._thread.join()
        self._finished = True
        self._eng.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
