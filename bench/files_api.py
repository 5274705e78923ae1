"""The Files API's throughput and the server's memory while it streams: a file of
`--mb` megabytes uploaded with databricks-sdk's `w.files.upload` and downloaded with
`w.files.download`, against a real `podium serve` on loopback, beside a plain copy of the
same bytes on the same disk. The server's peak resident memory (VmHWM) before and after
says whether the transfer was streamed (constant memory) or held whole.
Writes bench/results/files_api.json.
Usage: python bench/files_api.py [--mb 512]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

from tests.server.conftest import create_token, start_server, stop_server  # noqa: E402


class Pattern(io.RawIOBase):
    """`size` bytes of a repeating pattern, read without holding them all."""

    def __init__(self, size: int):
        self.left = size
        self.block = os.urandom(1 << 20)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left, len(self.block))
        buffer[:n] = self.block[:n]
        self.left -= n
        return n


def peak_kb(pid: int) -> int:
    """A process's peak resident memory (kB)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=512)
    args = parser.parse_args()
    size = args.mb << 20
    with tempfile.TemporaryDirectory() as folder:
        home = Path(folder) / "home"
        home.mkdir()
        (home / "token").write_text(create_token(home))
        server = start_server(home)
        try:
            from databricks.sdk.service import catalog

            w = server.sdk()
            w.catalogs.create(name="bench")
            w.volumes.create(catalog_name="bench", schema_name="default", name="v",
                             volume_type=catalog.VolumeType.MANAGED)
            before = peak_kb(server.proc.pid)
            began = time.perf_counter()
            w.files.upload("/Volumes/bench/default/v/big.bin",
                           io.BufferedReader(Pattern(size)), overwrite=True)
            upload_s = time.perf_counter() - began
            began = time.perf_counter()
            stream = w.files.download("/Volumes/bench/default/v/big.bin").contents
            received = 0
            while chunk := stream.read(1 << 20):
                received += len(chunk)
            download_s = time.perf_counter() - began
            after = peak_kb(server.proc.pid)
            assert received == size, (received, size)
            local = home / "dbfs" / "Volumes" / "bench" / "default" / "v" / "big.bin"
            began = time.perf_counter()
            shutil.copyfile(local, Path(folder) / "copy.bin")
            copy_s = time.perf_counter() - began
        finally:
            stop_server(server)
    result = {"mb": args.mb, "upload_s": round(upload_s, 2), "download_s": round(download_s, 2),
              "upload_mb_s": round(args.mb / upload_s, 1),
              "download_mb_s": round(args.mb / download_s, 1),
              "local_copy_s": round(copy_s, 2),
              "upload_vs_copy": round(upload_s / copy_s, 2),
              "download_vs_copy": round(download_s / copy_s, 2),
              "server_peak_mb_before": before // 1024, "server_peak_mb_after": after // 1024,
              "server_peak_growth_mb": (after - before) // 1024}
    print(json.dumps(result, indent=2))
    out = HERE / "results" / "files_api.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
