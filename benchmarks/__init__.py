"""sellertoken's benchmarks: `python -m benchmarks` (what `make bench` runs).

Everything runs on loopback: moto's server (LocalAwsServer) and the Amazon simulator live in the
orchestrating process, and every measured workload runs in processes of its own (spawn), so that
the servers and the code being measured do not share one interpreter lock.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAMBDAS = ROOT / "lambdas"
for _path in (str(ROOT), str(LAMBDAS)):
    if _path not in sys.path:
        sys.path.insert(0, _path)
