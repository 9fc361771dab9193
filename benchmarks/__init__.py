"""sellertoken's benchmarks: `python -m benchmarks` (what `make bench` runs).

Everything runs on loopback: moto's server (LocalAwsServer) and the Amazon simulator live in the
orchestrating process, and every measured workload runs in processes of its own (spawn), so that
the servers and the code being measured do not share one interpreter lock.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
