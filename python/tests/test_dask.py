"""wa1kpcap.dask.analyze_many on a real local Dask cluster (two worker
processes, loopback only) against the CLI's `analyze --merge -f ndjson`
over the same captures: the records must be the same bytes in the same
order, so every column and the output order are checked at once."""
import glob
import json
import os
import random
import subprocess

import pytest

distributed = pytest.importorskip(
    "distributed", reason="python3-distributed (Dask) is not installed")

from wa1kpcap import Wa1kPcapError  # noqa: E402
from wa1kpcap.dask import analyze_many, first_packet_ns  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # the workers' scratch space under pytest's temporary directory, not $TMPDIR
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       local_directory=str(tmp_path_factory.mktemp("dask")))
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def cli_merge(cli, paths):
    out = subprocess.run([cli, "analyze", "--merge", *paths, "-f", "ndjson"],
                         stdout=subprocess.PIPE, check=True).stdout
    return out.splitlines(keepends=True)


def shuffled(paths, seed):
    p = list(paths)
    random.Random(seed).shuffle(p)
    return p


def check_equal(client, cli, paths, tmp_path, seed, cli_opts=(), **options):
    want = cli_merge(cli, list(cli_opts) + list(paths))
    parts = analyze_many(shuffled(paths, seed), client, out_dir=str(tmp_path), part_size=50,
                         **options)
    got = b"".join(open(p, "rb").read() for p in parts).splitlines(keepends=True)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == w
    df = analyze_many(shuffled(paths, seed + 1), client, **options)
    assert list(df["flow_id"]) == [json.loads(w)["flow_id"] for w in want]
    assert list(df["end_reason"]) == [json.loads(w)["end_reason"] for w in want]
    return want


def test_split_parts_equal_one_merged_run(client, cli, data, tmp_path):
    parts = sorted(glob.glob(os.path.join(data, "merge", "multi", "multi_*.pcap")))
    assert len(parts) == 4
    want = check_equal(client, cli, parts, tmp_path, 7)
    caps = {json.loads(w)["capture"] for w in want}
    assert caps == {os.path.basename(p) for p in parts}
    # flows that cross a cut are one flow: fewer records than the parts alone
    alone = sum(len(cli_merge(cli, [p])) for p in parts)
    assert len(want) < alone


def test_unrelated_captures(client, cli, data, tmp_path):
    names = ["PcapPlusPlus__four_ipv6_http_streams.pcap", "PcapPlusPlus__VlanPackets.pcap",
             "PcapPlusPlus__many_interfaces-1.pcapng", "PcapPlusPlus__nanosecs_big_endian.pcap",
             "made__mqtt.pcap", "made__modbus.pcap", "made__gre_frag.pcap"]
    paths = [os.path.join(data, n) for n in names]
    check_equal(client, cli, paths, tmp_path, 3)


def test_first_packet_time(data):
    # tshark -r FILE -c1 -T fields -e frame.time_epoch
    ns = os.path.join(data, "PcapPlusPlus__nanosecs_big_endian.pcap")
    assert first_packet_ns(ns) == 1766361926167647291
    ng = os.path.join(data, "PcapPlusPlus__many_interfaces-1.pcapng")
    assert first_packet_ns(ng) == 1439753725701607000
    assert first_packet_ns(os.path.join(data, "no-such-file.pcap")) is None


def test_errors(client, data):
    with pytest.raises(ValueError):
        analyze_many([], client)
    with pytest.raises(Wa1kPcapError):
        analyze_many([os.path.join(data, "no-such-file.pcap")], client)


def test_overlapping_captures(client, cli, data, tmp_path):
    # east and west overlap in time: the merged stream interleaves them
    d = os.path.join(data, "merge", "overlap")
    paths = [os.path.join(d, n) for n in ("east.pcapng", "west.pcapng", "merged.pcapng")]
    check_equal(client, cli, paths, tmp_path, 5)


def test_copies_of_one_capture(client, cli, data, tmp_path):
    # two copies: the same timestamps, ties go to the capture whose path sorts first
    src = os.path.join(data, "merge", "multi", "multi_a.pcap")
    paths = []
    for n in ("copy1.pcap", "copy2.pcap"):
        p = tmp_path / n
        p.write_bytes(open(src, "rb").read())
        paths.append(str(p))
    paths.append(os.path.join(data, "merge", "multi", "multi_b.pcap"))
    out = tmp_path / "out"
    check_equal(client, cli, paths, out, 11)


def shifted_pcap(src, dst, seconds):
    """A copy of a little-endian microsecond pcap with every record `seconds` later."""
    import struct
    raw = bytearray(open(src, "rb").read())
    assert raw[:4] == b"\xd4\xc3\xb2\xa1"
    at = 24
    while at + 16 <= len(raw):
        sec, _, incl, _ = struct.unpack_from("<IIII", raw, at)
        struct.pack_into("<I", raw, at, sec + seconds)
        at += 16 + incl
    dst.write_bytes(bytes(raw))
    return str(dst)


def test_gaps_longer_than_the_timeouts(client, cli, data, tmp_path):
    # the same traffic again 1000 s later (the same keys): with a 60 s UDP
    # timeout every flow of the first copy is idle when the second begins,
    # and the second copy's flows are new flows; without a UDP timeout the
    # UDP flows of the first copy go on into the second
    src = os.path.join(data, "merge", "multi", "multi_a.pcap")
    paths = [shifted_pcap(src, tmp_path / ("s%d.pcap" % k), 1000 * k) for k in range(3)]
    want = check_equal(client, cli, paths, tmp_path / "a", 13, ["--udp-timeout", "60"],
                       udp_timeout=60)
    reasons = [json.loads(w)["end_reason"] for w in want]
    assert "idle_timeout" in reasons
    check_equal(client, cli, paths, tmp_path / "b", 17)


def test_slices_of_one_capture(client, cli, data, tmp_path):
    # wa1kpcap__multi.pcap (743 411 bytes) in 8 slices of 100 000 bytes: the
    # same records, in the same order, as one run over the whole file
    path = os.path.join(data, "wa1kpcap__multi.pcap")
    want = check_equal(client, cli, [path], tmp_path / "a", 19, slice_bytes=100000)
    assert len(want) == 140  # docs: tests/e2e/default_totals.py
    # slices smaller than most records' runs of flows: many cut flows to stitch
    check_equal(client, cli, [path], tmp_path / "b", 23, slice_bytes=20000)


def test_slices_of_pcapng_and_several_files(client, cli, data, tmp_path):
    ng = os.path.join(data, "PcapPlusPlus__many_interfaces-1.pcapng")
    check_equal(client, cli, [ng], tmp_path / "a", 29, slice_bytes=4096)
    parts = sorted(glob.glob(os.path.join(data, "merge", "multi", "multi_*.pcap")))
    check_equal(client, cli, parts, tmp_path / "b", 31, slice_bytes=60000)


def test_slice_bytes_must_be_positive(client, data):
    with pytest.raises(ValueError):
        analyze_many([os.path.join(data, "wa1kpcap__multi.pcap")], client, slice_bytes=0)


def test_short_timeouts_keep_the_order(client, cli, data, tmp_path):
    # idle flows end at ticks (the capture clock entering a new second), at the
    # same positions in every run over the same packets: with short timeouts
    # many flows end at ticks, and parts or slices still give one run's order
    parts = sorted(glob.glob(os.path.join(data, "merge", "multi", "multi_*.pcap")))
    opts = dict(tcp_timeout=5, udp_timeout=2, filter="tcp or udp port 53")
    cli_opts = ["--tcp-timeout", "5", "--udp-timeout", "2", "--filter", "tcp or udp port 53"]
    want = check_equal(client, cli, parts, tmp_path / "a", 37, cli_opts, **opts)
    assert len(want) == 228
    reasons = [json.loads(w)["end_reason"] for w in want]
    assert reasons.count("idle_timeout") > 50
    whole = os.path.join(data, "wa1kpcap__multi.pcap")
    check_equal(client, cli, [whole], tmp_path / "b", 41, cli_opts, slice_bytes=50000, **opts)


def test_dask_dataframe(client, data, tmp_path):
    # partitions are the NDJSON parts, read by the workers: the computed frame is the
    # pandas frame analyze_many returns without out_dir
    import pandas as pd
    dd = pytest.importorskip("dask.dataframe")
    parts = sorted(glob.glob(os.path.join(data, "merge", "multi", "multi_*.pcap")))
    df = analyze_many(parts, client, out_dir=str(tmp_path), part_size=50, dask_dataframe=True)
    assert isinstance(df, dd.DataFrame)
    assert df.npartitions == 3  # 140 records in parts of 50
    got = df.compute().reset_index(drop=True)
    want = analyze_many(parts, client)
    assert list(got.columns) == list(want.columns)
    assert len(got) == len(want) == 140
    pd.testing.assert_frame_equal(got.astype(str), want.astype(str))
    with pytest.raises(ValueError):
        analyze_many(parts, client, dask_dataframe=True)
