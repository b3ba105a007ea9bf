#!/usr/bin/python3
"""Writes the hostile layer corpus used by tests/layer/hostile_test.cc.

usage: make_hostile.py OUT_DIR OUTSIDE_DIR

OUTSIDE_DIR is a real directory next to the extraction target; hostile entries aim at it (by
absolute path and by "../outside") so that a careless extractor would visibly write there.
Every case is written as OUT_DIR/<case>.tar (or .tar.gz); the expected outcome of each lives in
the test, next to its name.
"""
import gzip
import io
import os
import sys
import tarfile


def info(name, kind=tarfile.REGTYPE, data=b"", mode=0o644, link="", size=None):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = mode
    ti.mtime = 1700000000
    ti.linkname = link
    ti.size = len(data) if size is None else size
    return ti, data


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tf:
        for ti, data in entries:
            tf.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return buf.getvalue()


def header_checksum(block):
    block = bytearray(block)
    block[148:156] = b" " * 8
    return (b"%06o\0 " % sum(block))


def raw_header(name_field, size=0, typeflag=b"0"):
    """A ustar header whose 100-byte name field is written verbatim (NULs included)."""
    h = bytearray(512)
    h[0:len(name_field)] = name_field
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"%011o\0" % 1700000000
    h[156:157] = typeflag
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = header_checksum(h)
    return bytes(h)


def pax_record(key, value):
    body = b" " + key + b"=" + value + b"\n"
    n = len(body)
    while True:
        rec = str(n).encode() + body
        if len(rec) == n:
            return rec
        n = len(rec)


def pad(data):
    return data + b"\0" * (-len(data) % 512)


def cases(outside):
    out = outside.rstrip("/")
    c = {}
    c["dotdot_escape"] = tar_bytes([info("../outside/pwned", data=b"x")])
    c["dotdot_nested"] = tar_bytes([info("a/", tarfile.DIRTYPE, mode=0o755),
                                    info("a/../../outside/pwned", data=b"x")])
    c["dotdot_whiteout_dir"] = tar_bytes([info("../.wh.outside")])
    c["abs_symlink_write"] = tar_bytes([info("s", tarfile.SYMTYPE, link=out),
                                        info("s/pwned", data=b"x")])
    c["rel_symlink_write"] = tar_bytes([info("s", tarfile.SYMTYPE, link="../outside"),
                                        info("s/pwned", data=b"x")])
    c["abs_name_through_symlink"] = tar_bytes([info("/abs", tarfile.SYMTYPE, link=out),
                                               info("/abs/pwned", data=b"x")])
    c["symlink_etc_then_file"] = tar_bytes([info("etc/", tarfile.DIRTYPE, mode=0o755),
                                            info("evil", tarfile.SYMTYPE, link="/etc"),
                                            info("evil/hull-pwned", data=b"x")])
    c["symlink_chain"] = tar_bytes([info("a", tarfile.SYMTYPE, link="b"),
                                    info("b", tarfile.SYMTYPE, link="../../../../../.."),
                                    info("a/pwned", data=b"x")])
    c["file_over_symlink"] = tar_bytes([info("f", tarfile.SYMTYPE, link=out + "/canary"),
                                        info("f", data=b"replaced")])
    c["hardlink_etc_passwd"] = tar_bytes([info("pw", tarfile.LNKTYPE, link="/etc/passwd")])
    c["hardlink_dotdot"] = tar_bytes([info("pw", tarfile.LNKTYPE, link="../outside/canary")])
    c["hardlink_missing"] = tar_bytes([info("x", tarfile.LNKTYPE, link="nope")])
    c["hardlink_via_symlink_dir"] = tar_bytes([info("s", tarfile.SYMTYPE, link=out),
                                               info("x", tarfile.LNKTYPE, link="s/canary")])
    c["char_device"] = tar_bytes([info("null", tarfile.CHRTYPE)])
    c["block_device"] = tar_bytes([info("sda", tarfile.BLKTYPE)])
    c["fifo"] = tar_bytes([info("pipe", tarfile.FIFOTYPE)])
    c["socket_type"] = pad(raw_header(b"sock", typeflag=b"Z")) + b"\0" * 1024
    c["setuid_file"] = tar_bytes([info("su", data=b"#!/bin/sh\n", mode=0o6755)])
    c["nul_in_ustar_name"] = pad(raw_header(b"ok\0/../../outside/pwned", size=1) + pad(b"x")) + b"\0" * 1024
    pax = pax_record(b"path", b"ok\0/../../outside/pwned")
    c["nul_in_pax_path"] = (raw_header(b"PaxHeaders/x", size=len(pax), typeflag=b"x") + pad(pax) +
                            raw_header(b"placeholder", size=1) + pad(b"x") + b"\0" * 1024)
    c["path_5000"] = tar_bytes([info("/".join(["d" * 99] * 50), data=b"x")])
    c["component_300"] = tar_bytes([info("a/" + "c" * 300, data=b"x")])
    good = tar_bytes([info("big", data=b"y" * 5000), info("after", data=b"z")])
    c["truncated_tar"] = good[:1800]
    c["truncated_gzip"] = gzip.compress(good, mtime=0)[:40]
    c["garbage"] = bytes((i * 131 + 7) % 251 for i in range(4096))
    c["zero_length"] = b""
    bad = bytearray(good)
    # Break the checksum of the second file's header, wherever pax headers put it.
    second = next(off for off in range(512, len(bad), 512)
                  if bad[off:off + 5] == b"after" and bad[off + 257:off + 262] == b"ustar")
    bad[second + 148:second + 156] = b"0000001\0"
    c["bad_checksum"] = bytes(bad)
    c["whiteout_dotdot"] = tar_bytes([info(".wh...")])
    c["whiteout_through_symlink"] = tar_bytes([info("s", tarfile.SYMTYPE, link=out),
                                               info("s/.wh.canary")])
    c["opaque_in_symlinked_dir"] = tar_bytes([info("s", tarfile.SYMTYPE, link="../outside"),
                                              info("s/.wh..wh..opq")])
    c["dir_replaced_by_symlink"] = tar_bytes([info("d/", tarfile.DIRTYPE, mode=0o755),
                                              info("d", tarfile.SYMTYPE, link=out),
                                              info("d/pwned", data=b"x")])
    c["huge_size_short_data"] = pad(raw_header(b"huge", size=1 << 33)) + b"short"
    return c


def main():
    out_dir, outside = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    for name, data in cases(outside).items():
        with open(os.path.join(out_dir, name + ".tar"), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
