"""Two builders and two readers on one index folder at once (the deterministic
HashEncoder of tests/, no model): counts failed builds and failed loads.

    PYTHONPATH=. python bench/concurrent_builds.py [--seconds 8] [--builds 15]

Before the writer lock and the keep-the-previous-generation cleanup (47fa623) this gave
failed builds (FileNotFoundError in .building-*) and thousands of failed loads; now 0/0."""
from __future__ import annotations

import argparse
import multiprocessing as mp
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _builder(args) -> int:
    from assistant.store.build import build_index
    from assistant.settings import Settings
    from tests.fakes import HashEncoder

    work, i, n = args
    errors = 0
    for j in range(n):
        (work / "corpus" / f"b{i}-{j}.txt").write_text(f"Article {i} {j} about coal mining in Nampo, number {j}.")
        try:
            build_index(work / "corpus", work / "ix", Settings(), encoder=HashEncoder(), progress=False)
        except Exception as e:  # noqa: BLE001 - counted
            print(f"build failed: {type(e).__name__}: {e}", file=sys.stderr)
            errors += 1
    return errors


def _reader(args) -> tuple[int, int]:
    from assistant.store.index import load_index

    work, seconds = args
    errors = loads = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            load_index(work / "ix")
            loads += 1
        except Exception as e:  # noqa: BLE001 - counted
            if "No index" not in str(e):
                errors += 1
    return errors, loads


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--builds", type=int, default=15, help="builds per builder")
    a = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="concurrent-builds-"))
    try:
        shutil.copytree(ROOT / "corpus", work / "corpus")
        with mp.Pool(4) as pool:
            builds = pool.map_async(_builder, [(work, i, a.builds) for i in (1, 2)])
            reads = pool.map_async(_reader, [(work, a.seconds)] * 2)
            failed_builds, read_results = sum(builds.get()), reads.get()
        print(f"builds: {2 * a.builds}, failed: {failed_builds}; loads: {sum(n for _, n in read_results)}, "
              f"failed: {sum(e for e, _ in read_results)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
