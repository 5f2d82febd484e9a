"""`make fuzz`: run fuzz targets one after another, each for a time budget, and say what each found.

    .venv/bin/python -m fuzz.campaign [--seconds N] [TARGET ...]

For each target the seeds are written into fuzz/corpus/<target>/ (fuzz.seeds), then `python -m fuzz.run` runs
there until the budget is spent. libFuzzer stops at the first crash: the crashing input is kept in
fuzz/findings/<target>/ and the run starts again, from the corpus grown so far, for the time that is left. Each
run's log is kept beside the crashes. Printed per target: executions (and per second), corpus size, coverage (edges
and features as libFuzzer counts them) and every crash, timeout or out-of-memory with its signature."""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fuzz import seeds
from fuzz.run import KNOWN_ENV, SIGNATURE_MARK
from fuzz.targets import TARGETS

REPO = Path(__file__).resolve().parents[1]
FINDINGS = REPO / "fuzz" / "findings"
MIN_RUN = 5  # seconds: less than this left of the budget is not worth a restart
MAX_RUNS = 200

_STATUS = re.compile(r"^#(\d+)\s+\S+\s+cov: (\d+) ft: (\d+) corp: (\d+)/(\S+)", re.M)
_SLOWEST = re.compile(r"^stat::slowest_unit_time_sec: (\d+)", re.M)
_EXECUTED = re.compile(r"^stat::number_of_executed_units: (\d+)", re.M)
_ARTIFACT = re.compile(r"Test unit written to (\S+)")
_SIGNATURE = re.compile("^" + re.escape(SIGNATURE_MARK) + "(.*)$", re.M)


@dataclass
class Finding:
    kind: str  # crash, timeout, out-of-memory, …
    signature: str
    message: str
    artifact: str


@dataclass
class Result:
    target: str
    seconds: float = 0.0
    runs: int = 0
    executions: int = 0
    edges: int = 0
    features: int = 0
    corpus_inputs: int = 0  # libFuzzer's count: the inputs that add coverage
    corpus_files: int = 0  # files in the corpus folder (seeds and every input libFuzzer kept on the way)
    slowest: float = 0.0
    findings: list[Finding] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.executions / self.seconds if self.seconds else 0.0


def _finding(log: str) -> Finding | None:
    artifact = _ARTIFACT.search(log)
    if artifact is None:
        return None
    signature = _SIGNATURE.search(log)
    if signature is not None:
        block = log.split("=== Uncaught Python exception: ===", 1)[-1]
        lines = [line for line in block.splitlines() if line.strip() and not line.startswith("  ")]
        message = next((line for line in lines if not line.startswith(("Traceback", "="))), "?")
        return Finding("crash", signature.group(1).strip(), message, artifact.group(1))
    if "libFuzzer: timeout" in log:
        kind = "timeout"
    elif "out-of-memory" in log:
        kind = "out-of-memory"
    elif "slow-unit-" in artifact.group(1):
        return None  # an input slower than -report_slow_units: noted in the log, not a failure
    else:
        kind = "error"
    return Finding(kind, kind, kind, artifact.group(1))


def _drop_from_corpus(corpus: Path, artifact: str) -> None:
    """A corpus input that fails stops every run while the corpus loads: it leaves the corpus (it is kept as the
    finding's artifact)."""
    try:
        digest = hashlib.sha1(Path(artifact).read_bytes()).hexdigest()
    except OSError:
        return
    for path in corpus.iterdir():
        if path.is_file() and hashlib.sha1(path.read_bytes()).hexdigest() == digest:
            path.unlink()


def run_target(name: str, seconds: float, extra: list[str]) -> Result:
    corpus = seeds.CORPUS / name
    findings = FINDINGS / name
    findings.mkdir(parents=True, exist_ok=True)
    seeded = seeds.write(name)
    print(f"== {name}: {seeded} seeds, {seconds:.0f} s", flush=True)
    result = Result(name)
    started = time.monotonic()
    deadline = started + seconds
    stamp = time.strftime("%Y%m%d-%H%M%S")
    known = findings / f"known-{stamp}.txt"
    known.touch()
    environment = {**os.environ, KNOWN_ENV: str(known)}
    while (left := deadline - time.monotonic()) >= MIN_RUN and result.runs < MAX_RUNS:
        result.runs += 1
        log_path = findings / f"run-{stamp}-{result.runs}.log"
        command = [sys.executable, "-m", "fuzz.run", name, str(corpus), f"-max_total_time={int(left)}",
                   "-print_final_stats=1", f"-artifact_prefix={findings}/", *extra]
        with log_path.open("wb") as log_file:
            subprocess.run(command, stdout=log_file, stderr=subprocess.STDOUT, cwd=REPO, env=environment,
                           check=False)
        log = log_path.read_text(encoding="utf-8", errors="replace")
        executed = _EXECUTED.findall(log)
        statuses = _STATUS.findall(log)
        if executed:
            result.executions += int(executed[-1])
        elif statuses:
            result.executions += int(statuses[-1][0])
        if statuses:
            result.edges, result.features = int(statuses[-1][1]), int(statuses[-1][2])
            result.corpus_inputs = int(statuses[-1][3])
        slowest = _SLOWEST.findall(log)
        if slowest:
            result.slowest = max(result.slowest, float(slowest[-1]))
        found = _finding(log)
        if found is not None:
            result.findings.append(found)
            print(f"   {found.kind}: {found.signature} ({found.artifact})", flush=True)
            _drop_from_corpus(corpus, found.artifact)
            if found.kind == "crash":
                with known.open("a", encoding="utf-8") as listed:
                    listed.write(found.signature + "\n")
        elif "Done " not in log:
            print(f"   run {result.runs} ended without finishing; see {log_path}", flush=True)
            break
    result.seconds = time.monotonic() - started
    result.corpus_files = sum(1 for p in corpus.iterdir() if p.is_file())
    _report(result)
    return result


def _report(result: Result) -> None:
    print(f"   executions {result.executions} ({result.rate:.0f}/s) in {result.seconds:.0f} s, {result.runs} run(s)")
    print(f"   corpus     {result.corpus_inputs} inputs ({result.corpus_files} files in fuzz/corpus/{result.target})")
    print(f"   coverage   {result.edges} edges, {result.features} features; slowest input {result.slowest:.0f} s")
    distinct: dict[str, list[Finding]] = {}
    for found in result.findings:
        distinct.setdefault(found.signature, []).append(found)
    print(f"   findings   {len(result.findings)} ({len(distinct)} distinct)")
    for signature, each in distinct.items():
        print(f"     {len(each)}x {signature}: {each[0].message}")
        print(f"        e.g. {each[0].artifact}")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.campaign")
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("targets", nargs="*", default=list(TARGETS))
    args, extra = parser.parse_known_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)} (choose from {', '.join(TARGETS)})")
    results = [run_target(name, args.seconds, extra) for name in args.targets]
    print("\ntarget      seconds  executions   exec/s  corpus  edges  features  findings")
    for r in results:
        print(f"{r.target:<10} {r.seconds:8.0f} {r.executions:11d} {r.rate:8.0f} {r.corpus_inputs:7d} {r.edges:6d} "
              f"{r.features:9d} {len(r.findings):9d}")
    return 1 if any(r.findings for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
