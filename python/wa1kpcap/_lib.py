"""Finding and declaring libwa1kpcap (ctypes, ABI mode: no compiler needed).

The library is looked for, in order: the path in WA1KPCAP_LIBRARY; a CMake
build tree beside this package (../build, ../../build); the directory that
``pkg-config --variable=libdir wa1kpcap`` names; ``ctypes.util.find_library``.
"""
import ctypes
import ctypes.util
import os
import subprocess

# The C header this module was written against: 0.1.x (see the ABI policy in
# include/wa1kpcap/wa1kpcap.h). While MAJOR is 0, MINOR must match too.
HEADER_VERSION = 100

FMT_CSV, FMT_JSON, FMT_NDJSON, FMT_NONE = 0, 1, 2, 3
APP_LAYER = {"full": 0, "port_only": 1, "none": 2}
READER = {"auto": 0, "mmap": 1, "libpcap": 2}

STATUS = {
    0: "success",
    -1: "invalid argument",
    -2: "out of memory",
    -3: "input/output error",
    -4: "not a valid capture",
    -5: "unsupported link type",
    -6: "stopped",
    -7: "call out of order",
}


class Wa1kPcapError(Exception):
    """An error of the library: ``str(e)`` is its one-line message (naming the
    file and the problem); ``e.status`` the negative wkp_status."""

    def __init__(self, message, status=-1):
        super().__init__(message)
        self.status = status


class ErrBuf(ctypes.Structure):
    _fields_ = [("msg", ctypes.c_char * 512)]


FLOW_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def _candidates():
    env = os.environ.get("WA1KPCAP_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for up in ("..", os.path.join("..", "..")):
        yield os.path.normpath(os.path.join(here, up, "build", "libwa1kpcap.so"))
    try:
        libdir = subprocess.run(
            ["pkg-config", "--variable=libdir", "wa1kpcap"],
            capture_output=True, text=True, check=False, timeout=10,
        ).stdout.strip()
        if libdir:
            yield os.path.join(libdir, "libwa1kpcap.so.0")
            yield os.path.join(libdir, "libwa1kpcap.so")
    except OSError:
        pass
    found = ctypes.util.find_library("wa1kpcap")
    if found:
        yield found


def _declare(lib):
    c = ctypes
    vp, cp, sz, i, u = c.c_void_p, c.c_char_p, c.c_size_t, c.c_int, c.c_uint

    def fn(name, res, *args):
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = list(args)

    fn("wkp_version", cp)
    fn("wkp_version_number", u)
    fn("wkp_strerror", cp, i)
    fn("wkp_config_new", i, c.POINTER(vp))
    fn("wkp_config_free", None, vp)
    for name in ("threads",):
        fn("wkp_config_set_" + name, i, vp, u)
    fn("wkp_config_set_reader", i, vp, i)
    for name in ("tcp_timeout", "udp_timeout", "tcp_close_timeout"):
        fn("wkp_config_set_" + name, i, vp, c.c_double)
    for name in ("filter_retrans", "filter_ack", "filter_rst", "sequences", "reassembly",
                 "compat", "strict", "resync", "merge"):
        fn("wkp_config_set_" + name, i, vp, c.c_bool)
    for name in ("max_seq", "min_packets", "max_flows"):
        fn("wkp_config_set_" + name, i, vp, c.c_uint64)
    for name in ("filter", "default_filter", "columns"):
        fn("wkp_config_set_" + name, i, vp, cp)
    fn("wkp_config_set_app_layer", i, vp, i)
    fn("wkp_config_set_app_option", i, vp, cp, cp)
    fn("wkp_config_add_protocols_dir", i, vp, cp, c.POINTER(ErrBuf))
    fn("wkp_config_set_signatures", i, vp, cp, c.POINTER(ErrBuf))
    fn("wkp_config_load_plugin", i, vp, cp, c.POINTER(ErrBuf))
    fn("wkp_config_add_vxlan_port", i, vp, c.c_uint16)
    fn("wkp_config_set_tcp_reassembly", i, vp, c.c_uint32, c.c_uint64)
    fn("wkp_sink_callback_new", i, FLOW_FN, vp, c.POINTER(vp))
    fn("wkp_sink_callback_add_text", i, vp, i)
    fn("wkp_sink_free", None, vp)
    fn("wkp_flow_text", vp, vp, i, c.POINTER(sz))
    fn("wkp_flow_end_position", c.c_uint64, vp)
    fn("wkp_config_set_offsets", i, vp, c.c_uint64, c.c_uint64)
    fn("wkp_engine_new", i, vp, c.POINTER(vp), c.POINTER(ErrBuf))
    fn("wkp_engine_add_sink", i, vp, vp)
    fn("wkp_engine_run", i, vp, c.POINTER(cp), sz)
    fn("wkp_engine_run_fd", i, vp, i, cp)
    fn("wkp_push_start", i, vp, i, cp, c.POINTER(vp))
    fn("wkp_push_packet", i, vp, c.c_int64, c.c_char_p, c.c_uint32, c.c_uint32)
    fn("wkp_push_finish", i, vp)
    fn("wkp_engine_stop", None, vp)
    fn("wkp_engine_last_error", cp, vp)
    fn("wkp_engine_warnings", cp, vp)
    fn("wkp_engine_counter", c.c_uint64, vp, i)
    fn("wkp_engine_column_count", sz, vp)
    fn("wkp_engine_column_name", cp, vp, sz)
    fn("wkp_engine_csv_header", i, vp, cp, sz, c.POINTER(sz))
    fn("wkp_engine_free", None, vp)


_lib = None


def lib():
    """The loaded library (loaded and checked on first use)."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            # global: a C plugin binds the API it calls to this copy
            candidate = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            tried.append(f"{path} ({e})")
            continue
        if not hasattr(candidate, "wkp_version_number"):
            tried.append(f"{path} (older than 0.1 with wkp_version_number)")
            continue
        _declare(candidate)
        v = candidate.wkp_version_number()
        if v // 100 != HEADER_VERSION // 100 or v < HEADER_VERSION:
            raise Wa1kPcapError(
                f"{path}: libwa1kpcap {candidate.wkp_version().decode()} does not match "
                f"this package (written for {HEADER_VERSION // 10000}."
                f"{HEADER_VERSION // 100 % 100}.x)")
        _lib = candidate
        return _lib
    raise Wa1kPcapError(
        "libwa1kpcap not found: set WA1KPCAP_LIBRARY to the library's path, build it "
        "(cmake -S . -B build && cmake --build build) or install it; tried: "
        + "; ".join(tried or ["nothing"]))


def check(status, message=None):
    """Raise Wa1kPcapError for a negative status."""
    if status < 0:
        raise Wa1kPcapError(message or STATUS.get(status, "error %d" % status), status)
