"""The Python package against the CLI: the same flows, fields and bytes.

Every expected value comes from the CLI (``wa1kpcap analyze``) run on the
same capture with the same options, parsed with the standard library's
csv and json modules, or from the captures' MANIFEST counts."""
import contextlib
import csv
import io
import json
import math
import os
import shutil
import subprocess

import pytest

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

import wa1kpcap  # noqa: E402
from wa1kpcap import Wa1kPcap, Wa1kPcapError, to_csv, to_dataframe, to_json, to_ndjson  # noqa: E402

MULTI_FLOWS = 140  # `wa1kpcap analyze -f ndjson wa1kpcap__multi.pcap | wc -l`


def run_cli(cli, fmt, *args):
    return subprocess.run([cli, "analyze", "-f", fmt, *args], check=True,
                          capture_output=True).stdout


@pytest.fixture(scope="module")
def multi(data):
    return os.path.join(data, "wa1kpcap__multi.pcap")


@pytest.fixture(scope="module")
def multi_flows(multi):
    return list(Wa1kPcap(threads=2).analyze_file(multi))


def test_quick_start_verbatim(tmp_path, multi, cli, monkeypatch):
    # The Quick Start of the original package's README, unchanged.
    quick_start = '''
from wa1kpcap import Wa1kPcap

analyzer = Wa1kPcap()
flows = analyzer.analyze_file('traffic.pcap')

for flow in flows:
    print(f"{flow.key}  packets={flow.packet_count}  duration={flow.duration:.3f}s")
'''
    shutil.copy(multi, tmp_path / "traffic.pcap")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(quick_start, {})
    lines = out.getvalue().splitlines()
    want = [json.loads(l) for l in run_cli(cli, "ndjson", "traffic.pcap").splitlines()]
    assert len(lines) == len(want) == MULTI_FLOWS
    for line, rec in zip(lines, want):
        assert line == "%s  packets=%d  duration=%.3fs" % (
            rec["key"], rec["packet_count"], rec["duration"])


def test_every_field_matches_the_cli_ndjson(multi_flows, multi, cli):
    want = [json.loads(l) for l in run_cli(cli, "ndjson", multi).splitlines()]
    assert len(multi_flows) == len(want) == MULTI_FLOWS
    for flow, rec in zip(multi_flows, want):
        assert flow.record == rec
        for k, v in rec.items():
            if k == "features":
                continue
            assert getattr(flow, k) == v, k
        feats = rec["features"]
        stats = feats.pop("statistics")
        assert sorted(flow.features) == sorted(feats)
        for name, seq in feats.items():
            arr = flow.features[name]
            assert isinstance(arr, np.ndarray)
            assert arr.tolist() == seq, name
            assert getattr(flow.features, name) is arr
        assert flow.stats == stats
        for block, values in stats.items():
            if isinstance(values, dict):
                for stat, v in values.items():
                    assert flow.stats[block][stat] == v
    # a block the output leaves out reads as all None
    lone = [f for f in multi_flows if "tcp_window" not in f.record["features"]["statistics"]]
    assert lone and all(f.stats["tcp_window"]["mean"] is None for f in lone)
    assert all(f.protocol != "TCP" for f in lone)  # only TCP flows have tcp_window
    # the original's short names: pkt_mean is packet_lengths.mean
    f0, r0 = multi_flows[0], json.loads(run_cli(cli, "ndjson", multi).splitlines()[0])
    st = r0["features"]["statistics"]
    assert f0.pkt_mean == st["packet_lengths"]["mean"]
    assert f0.pkt_up_count == st["packet_lengths"]["up_count"]
    assert f0.iat_std == st["iats"]["std"]


def test_protocol_objects(multi_flows, multi, cli):
    want = [json.loads(l) for l in run_cli(cli, "ndjson", multi).splitlines()]
    tls = dns = 0
    for flow, rec in zip(multi_flows, want):
        if "tls" in rec:
            tls += 1
            assert flow.tls.sni == rec["tls"].get("sni")
            assert flow.tls.ja3 == rec["tls"].get("ja3")
        else:
            assert flow.tls is None
        if "dns" in rec:
            dns += 1
            assert flow.dns.queries == rec["dns"]["queries"]
            if rec["dns"]["answers"]:
                assert flow.dns.answers[0].name == rec["dns"]["answers"][0]["name"]
    assert tls == 47 and dns == 31  # grep -c '"tls":{' / '"dns":{' of the NDJSON


def test_base_fields_of_a_record_without_features():
    # With --columns a record may have no "features" while an HTTP header
    # named so follows: the base fields come from the whole record then.
    from wa1kpcap.flow import Flow
    line = b'{"flow_id":7,"http":{"headers":{"host":"a","features":"x"}}}'
    assert Flow(line).flow_id == 7
    assert Flow(line).http.headers["features"] == "x"
    # the usual record: cut at the top-level key
    full = b'{"flow_id":8,"key":"k{","features":{"iats":[]},"http":{"headers":{}}}'
    assert wa1kpcap.flow.head_end(full) == -1  # a { inside a string: no cut, still right
    assert Flow(full).flow_id == 8 and Flow(full).key == "k{"
    plain = b'{"flow_id":9,"key":"k","features":{"iats":[]}}'
    assert wa1kpcap.flow.head_end(plain) == len(b'{"flow_id":9,"key":"k"')
    assert Flow(plain).flow_id == 9


def _cell(text):
    """A CLI CSV cell as the JSON output types it."""
    if text == "":
        return None
    if text[0] in "[{":
        return json.loads(text)
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def test_dataframe_is_the_cli_csv(multi_flows, multi, cli):
    rows = list(csv.reader(io.StringIO(run_cli(cli, "csv", multi).decode())))
    header, rows = rows[0], rows[1:]
    df = to_dataframe(multi_flows)
    assert list(df.columns) == header
    assert len(df) == len(rows) == MULTI_FLOWS
    for i, row in enumerate(rows):
        for name, text in zip(header, row):
            got, want = df.at[i, name], _cell(text)
            if name == "capture":  # a file name stays text
                want = text
            if want is None and isinstance(got, float):  # pandas: NaN in a float column
                assert math.isnan(got), (i, name)
            elif isinstance(want, float):
                assert isinstance(got, float) and (got == want or math.isclose(got, want)), name
            else:
                assert got == want, (i, name)


@pytest.mark.parametrize("opts,args", [
    ({}, []),
    ({"bpf_filter": "tcp", "app_layer_parsing": "none"}, ["--filter", "tcp", "--app-layer",
                                                          "none"]),
    ({"compat": True, "columns": "flow_id,key,feature.iats*,dns"},
     ["--compat", "--columns", "flow_id,key,feature.iats*,dns"]),
    ({"udp_timeout": 5, "tcp_cleanup_timeout": 30, "enable_reassembly": False,
      "filter_ack": True}, ["--udp-timeout", "5", "--tcp-timeout", "30", "--no-reassembly",
                            "--filter-ack"]),
])
def test_exports_are_the_cli_bytes(tmp_path, multi, cli, opts, args):
    flows = list(Wa1kPcap(threads=2, **opts).analyze_file(multi))
    assert to_csv(flows) == run_cli(cli, "csv", *args, multi)
    assert to_json(flows) == run_cli(cli, "json", *args, multi)
    assert to_ndjson(flows) == run_cli(cli, "ndjson", *args, multi)
    to_csv(flows, tmp_path / "f.csv")
    assert (tmp_path / "f.csv").read_bytes() == run_cli(cli, "csv", *args, multi)


def test_empty_exports_are_the_cli_bytes(multi, cli):
    flows = list(Wa1kPcap(bpf_filter="port 1").analyze_file(multi))
    assert flows == []
    assert to_json(flows) == run_cli(cli, "json", "--filter", "port 1", multi)
    assert to_csv(flows) == run_cli(cli, "csv", "--filter", "port 1", multi)


def test_files_and_directory(tmp_path, data, cli):
    names = ["wa1kpcap__multi.pcap", "nDPI__dns.pcap"]
    for n in names:
        shutil.copy(os.path.join(data, n), tmp_path / n)
    (tmp_path / "notes.txt").write_text("not a capture")
    paths = [str(tmp_path / n) for n in names]
    want = run_cli(cli, "ndjson", *paths)
    assert to_ndjson(Wa1kPcap().analyze_files(paths)) == want
    # name order: nDPI__dns.pcap before wa1kpcap__multi.pcap
    got = to_ndjson(Wa1kPcap().analyze_directory(tmp_path))
    assert got == run_cli(cli, "ndjson", *sorted(paths))


def test_pipe_is_the_file(multi, cli):
    # a subprocess's stdout: the capture through a pipe, named like the file
    with subprocess.Popen(["cat", multi], stdout=subprocess.PIPE) as cat:
        got = to_ndjson(Wa1kPcap().analyze_fd(cat.stdout, "wa1kpcap__multi.pcap"))
    assert got == run_cli(cli, "ndjson", multi)


def _pcap_records(path):
    """(ns timestamp, data, wire length) of a microsecond little-endian pcap,
    read with struct, and its link type."""
    import struct
    raw = open(path, "rb").read()
    magic, _, _, _, _, _, link = struct.unpack_from("<IHHiIII", raw, 0)
    assert magic == 0xa1b2c3d4
    out, off = [], 24
    while off + 16 <= len(raw):
        sec, usec, cap, wire = struct.unpack_from("<IIII", raw, off)
        out.append((sec * 10**9 + usec * 1000, raw[off + 16:off + 16 + cap], wire))
        off += 16 + cap
    return out, link


def test_pushed_packets_are_the_file(multi):
    recs, link = _pcap_records(multi)
    assert len(recs) == 4183  # capinfos -c
    got = list(Wa1kPcap().analyze_packets(iter(recs), linktype=link,
                                          name="wa1kpcap__multi.pcap"))
    want = list(Wa1kPcap().analyze_file(multi))
    assert len(got) == len(want) == MULTI_FLOWS
    for g, w in zip(got, want):
        # nanosecond timestamps print with 9 decimals: compare the values
        assert (g.key, g.flow_id, g.packet_count, g.byte_count) == \
            (w.key, w.flow_id, w.packet_count, w.byte_count)
        assert g.start_time == w.start_time and g.end_time == w.end_time
        assert g.features.packet_lengths.tolist() == w.features.packet_lengths.tolist()


def test_pushed_packets_error():
    with pytest.raises(Wa1kPcapError) as e:
        list(Wa1kPcap().analyze_packets([(1.0, b"x" * 10, 5)], linktype=101))
    assert str(e.value) == "packet at 1.0: bad timestamp or length"


def test_missing_file():
    with pytest.raises(Wa1kPcapError) as e:
        list(Wa1kPcap().analyze_file("/nonexistent/trace.pcap"))
    assert str(e.value) == "/nonexistent/trace.pcap: No such file or directory"
    assert e.value.status == -3


def test_not_a_capture(tmp_path):
    p = tmp_path / "x.pcap"
    p.write_bytes(b"# wa1kpcap\n")
    with pytest.raises(Wa1kPcapError) as e:
        list(Wa1kPcap().analyze_file(p))
    assert str(e.value) == "%s: not a pcap or pcapng file (starts with 0x23207761)" % p
    assert e.value.status == -4


def test_truncated(data):
    cut = os.path.join(data, "made__cut_mid_record.pcap")
    with pytest.raises(Wa1kPcapError) as e:
        list(Wa1kPcap(strict=True).analyze_file(cut))
    assert str(e.value) == "%s: capture cut short inside the record at offset 590" % cut
    stream = Wa1kPcap().analyze_file(cut)
    flows = list(stream)
    assert sum(f.packet_count for f in flows) == 5  # "analysed the 5 packets before it"
    assert "cut short inside the record at offset 590" in stream.warnings


def test_bad_options():
    with pytest.raises(Wa1kPcapError) as e:
        Wa1kPcap(bpf_filter="tcp and and")
    assert str(e.value) == "filter: \"tcp and and\": expected an expression, found 'and' at column 9"
    with pytest.raises(Wa1kPcapError):
        Wa1kPcap(udp_timeout=-1)
    with pytest.raises(Wa1kPcapError):
        Wa1kPcap(app_layer_parsing="most")
    with pytest.raises(Wa1kPcapError):
        Wa1kPcap(columns="no_such_column")
    with pytest.raises(TypeError):
        Wa1kPcap(no_such_option=1)


def test_early_close_stops_the_engine(multi):
    stream = Wa1kPcap(threads=2, queue_size=2).analyze_file(multi)
    first = [next(stream) for _ in range(3)]
    stream.close()
    assert [f.flow_id for f in first] == [53, 355, 435]  # the first three of the NDJSON
    assert stream._thread is not None and not stream._thread.is_alive()
    with pytest.raises(StopIteration):
        next(stream)


def test_python_custom_feature(multi):
    a = Wa1kPcap()
    a.register_feature("up_share", lambda f: f.up_packet_count / f.packet_count)
    flows = list(a.analyze_file(multi))
    for f in flows:
        assert f.custom["up_share"] == f.record["up_packet_count"] / f.record["packet_count"]
    df = to_dataframe(flows)
    assert df["custom.up_share"].tolist() == [f.custom["up_share"] for f in flows]


def test_library_version():
    assert wa1kpcap.library_version() == wa1kpcap.__version__


def test_library_search_order(tmp_path, monkeypatch):
    from wa1kpcap import _lib
    (tmp_path / "wa1kpcap.pc").write_text(
        "libdir=%s\nName: wa1kpcap\nDescription: x\nVersion: 0.1.0\n" % tmp_path)
    monkeypatch.setenv("PKG_CONFIG_PATH", str(tmp_path))
    monkeypatch.delenv("WA1KPCAP_LIBRARY", raising=False)
    found = list(_lib._candidates())
    assert found[0].endswith(os.path.join("python", "build", "libwa1kpcap.so"))
    assert os.path.join(str(tmp_path), "libwa1kpcap.so.0") in found  # from pkg-config
    monkeypatch.setenv("WA1KPCAP_LIBRARY", "/nonexistent/libwa1kpcap.so")
    assert list(_lib._candidates()) == ["/nonexistent/libwa1kpcap.so"]
    monkeypatch.setattr(_lib, "_lib", None)
    with pytest.raises(Wa1kPcapError) as e:
        _lib.lib()
    assert str(e.value).startswith("libwa1kpcap not found: set WA1KPCAP_LIBRARY")
    assert "/nonexistent/libwa1kpcap.so" in str(e.value)
