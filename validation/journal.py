"""Append-only JSON-lines journals of results (``--out FILE.jsonl`` of ``simulate`` and ``validate``).

A journal never loses a record:

* **append-only**: a run appends each record as soon as it is computed (one line, flushed);
  when the run completes, its own records are rewritten in the canonical order of its points
  (so a killed-and-resumed run gives the same bytes as an uninterrupted one) and every other
  line of the file — records of other runs or other grids, even lines this version cannot
  read — is kept verbatim, in its place at the head of the file. Only a torn last line (a
  write cut by a kill) is dropped.
* **serialised**: every write and the final rewrite hold an exclusive lock on the side file
  ``FILE.jsonl.lock`` (``fcntl.flock``), so concurrent runs on one journal interleave whole
  lines and never overwrite each other's records.
* **checked on read**: lines that are not UTF-8, not JSON, not a record, or that carry a
  non-finite number (``NaN``, ``Infinity``, or the strings ``"inf"``/``"nan"``) are skipped with
  one warning on stderr, never trusted; a record whose result is not finite is never written.
* **refuses to clobber**: opening an existing non-empty journal needs ``resume=True`` (continue
  it) or ``overwrite=True`` (replace it); otherwise one line says so (``InputError``).

A record is ``{"key": <canonical JSON of what was computed>, "config": {...}, "result": {...}}``.
"""

from __future__ import annotations

import json
import math
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from giantstep.errors import InputError

__all__ = ["Journal", "is_finite_record", "dumps"]

_NON_FINITE_STRINGS = frozenset({"inf", "-inf", "+inf", "nan", "-nan", "infinity", "-infinity"})


def dumps(record: dict) -> str:
    """The one-line canonical JSON of a record (sorted keys, no spaces, UTF-8)."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def is_finite_record(obj: Any) -> bool:
    """True if no number in ``obj`` is NaN/±inf and no string spells one (recursively)."""
    if isinstance(obj, bool) or obj is None:
        return True
    if isinstance(obj, float):
        return math.isfinite(obj)
    if isinstance(obj, str):
        return obj.strip().lower() not in _NON_FINITE_STRINGS
    if isinstance(obj, dict):
        return all(is_finite_record(v) for v in obj.values())
    if isinstance(obj, (list, tuple)):
        return all(is_finite_record(v) for v in obj)
    return True


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-finite constant {name}")


def _parse(raw: bytes) -> tuple[dict | None, str]:
    """``(record, "")`` for a valid line, ``(None, reason)`` otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, "not UTF-8"
    try:
        rec = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        return None, "non-finite" if "non-finite" in str(exc) else "not JSON"
    if not (isinstance(rec, dict) and isinstance(rec.get("key"), str) and "result" in rec):
        return None, "not a record"
    if not is_finite_record(rec):
        return None, "non-finite"
    return rec, ""


class Journal:
    """An append-only JSON-lines journal (see the module docstring).

    Parameters
    ----------
    path : str
        The journal file (created if absent; its folder must exist).
    resume : bool
        Continue an existing journal: its valid records are returned by :meth:`read`.
    overwrite : bool
        Replace an existing journal (its records are deleted: only when asked).
    warn : callable, optional
        Receives the one-line warnings (default: printed on stderr).
    """

    def __init__(self, path: str, *, resume: bool = False, overwrite: bool = False,
                 warn: Callable[[str], None] | None = None) -> None:
        self.path = os.fspath(path)
        self.lock_path = self.path + ".lock"
        self._warn = warn or (lambda text: print(text, file=sys.stderr))
        parent = os.path.dirname(os.path.abspath(self.path))
        if os.path.isdir(self.path):
            raise InputError(f"cannot write {self.path!r}: it is a folder")
        if not os.path.isdir(parent):
            raise InputError(f"cannot write {self.path!r}: the directory {parent!r} does not exist")
        if os.path.exists(self.path):
            if not stat.S_ISREG(os.stat(self.path).st_mode):
                raise InputError(f"cannot write {self.path!r}: not a regular file")
            if os.path.getsize(self.path) > 0 and not (resume or overwrite):
                raise InputError(f"{self.path!r} already holds results; pass --resume to continue it "
                                 "(resume=True) or --overwrite to replace it (overwrite=True)")
        with self._locked():
            mode = "wb" if overwrite else "ab"
            with open(self.path, mode):  # create it (and check that it is writable) now
                pass
            self._drop_torn_tail()

    def _drop_torn_tail(self) -> None:
        """Cut a last line without its newline: a write interrupted by a kill (caller holds the lock)."""
        with open(self.path, "rb+") as fh:
            data = fh.read()
            if data and not data.endswith(b"\n"):
                fh.truncate(data.rfind(b"\n") + 1)
                self._warn(f"giantstep: warning: {self.path}: dropped a torn last line "
                           "(a write interrupted by a kill)")

    # ------------------------------------------------------------------ locking
    @contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: no cross-process lock
            yield
            return
        with open(self.lock_path, "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    # ------------------------------------------------------------------ reading
    def _lines(self) -> tuple[list[bytes], bool]:
        """The complete lines (without their newline) and whether a torn last line was dropped."""
        with open(self.path, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        torn = lines.pop() != b""  # the text after the last newline: empty unless torn
        return lines, torn

    def read(self) -> dict[str, dict]:
        """The valid records by key (the first of duplicates); skipped lines are reported once."""
        with self._locked():
            lines, torn = self._lines()
        return _valid_records(self.path, lines, torn, self._warn)

    # ------------------------------------------------------------------ writing
    def append(self, record: dict) -> bool:
        """Append one record (a line, flushed); a record with a non-finite number is not written.

        Returns
        -------
        bool
            Whether the record was written.
        """
        if not is_finite_record(record):
            return False
        line = (dumps(record) + "\n").encode("utf-8")
        with self._locked(), open(self.path, "ab+") as fh:
            fh.seek(0, os.SEEK_END)
            if fh.tell() > 0:  # a torn line of a killed writer: end it, so it stays one bad line
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")
            fh.write(line)
            fh.flush()
        return True

    def finalize(self, records: Iterable[dict]) -> None:
        """Rewrite this run's records in the given order after every other line of the file.

        Lines holding a valid record of one of ``records``' keys are replaced; every other line
        (other runs' records, unreadable lines) is kept verbatim, in order. Atomic (a temporary
        file renamed over the journal) and under the lock.
        """
        records = [r for r in records if is_finite_record(r)]
        ours = {r["key"] for r in records}
        with self._locked():
            lines, _ = self._lines()
            kept = []
            for raw in lines:
                if not raw.strip():
                    continue
                rec, _reason = _parse(raw)
                if rec is not None and rec["key"] in ours:
                    continue
                kept.append(raw + b"\n")
            tmp = f"{self.path}.{os.getpid()}.tmp"
            try:
                with open(tmp, "wb") as fh:
                    fh.writelines(kept)
                    for rec in records:
                        fh.write((dumps(rec) + "\n").encode("utf-8"))
                    fh.flush()
                    os.fsync(fh.fileno())
                try:
                    os.chmod(tmp, stat.S_IMODE(os.stat(self.path).st_mode))
                except OSError:
                    pass
                os.replace(tmp, self.path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def read_records(path: str, warn: Callable[[str], None] | None = None) -> dict[str, dict]:
    """The valid records of a journal by key, without opening it for writing (none if absent)."""
    if not os.path.exists(path):
        return {}
    with open(path, "rb") as fh:
        lines = fh.read().split(b"\n")
    torn = lines.pop() != b""
    return _valid_records(path, lines, torn, warn or (lambda text: print(text, file=sys.stderr)))


def _valid_records(path: str, lines: list[bytes], torn: bool, warn: Callable[[str], None]) -> dict[str, dict]:
    """Parse complete lines; one warning lists what was skipped and why."""
    out: dict[str, dict] = {}
    skipped: dict[str, list[int]] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        rec, reason = _parse(raw)
        if rec is None:
            skipped.setdefault(reason, []).append(number)
        else:
            out.setdefault(rec["key"], rec)
    if torn:
        skipped.setdefault("torn last line", []).append(len(lines) + 1)
    if skipped:
        parts = [f"{len(v)} {k} (line{'s' if len(v) > 1 else ''} {', '.join(map(str, v[:5]))}"
                 f"{' …' if len(v) > 5 else ''})" for k, v in skipped.items()]
        warn(f"giantstep: warning: {path}: skipped lines not trusted as results: " + "; ".join(parts))
    return out
