"""wa1kpcap: packet captures to bidirectional flow records, in Python.

A binding of the C library libwa1kpcap (ctypes, no compiler needed)::

    from wa1kpcap import Wa1kPcap

    analyzer = Wa1kPcap()
    flows = analyzer.analyze_file('traffic.pcap')

    for flow in flows:
        print(f"{flow.key}  packets={flow.packet_count}  duration={flow.duration:.3f}s")

See docs/python.md.
"""
from ._lib import Wa1kPcapError, lib as _lib_handle
from .analyzer import FlowStream, Wa1kPcap
from .export import to_csv, to_dataframe, to_json, to_ndjson
from .flow import Features, Flow, Record

__version__ = "0.1.0"

__all__ = ["Wa1kPcap", "Wa1kPcapError", "Flow", "FlowStream", "Features", "Record",
           "to_csv", "to_json", "to_ndjson", "to_dataframe", "library_version"]


def library_version():
    """The loaded libwa1kpcap's version text, e.g. "0.1.0"."""
    return _lib_handle().wkp_version().decode()
