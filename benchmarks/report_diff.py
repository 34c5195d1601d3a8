"""Compare two report.json files (or two folders of projects) value by value, timings aside.

    python benchmarks/report_diff.py BEFORE AFTER

BEFORE and AFTER are two ``report.json`` files, or two folders written by ``benchmarks/reference_builds.py``
(every ``*/report/report.json`` below BEFORE is compared with the same path below AFTER, companions included).
Numbers must be identical (no tolerance); what legitimately differs between two runs is ignored: wall times
(``timings_s``, ``*_s``, ``*_per_s``, the training info's ``seconds``), the folders themselves (BEFORE and AFTER
in strings read as one), and ``schema_version``.
Keys only in AFTER are listed as added (a schema change to document); keys only in BEFORE as removed.
Exit code 0 when no value differs and no key was removed, else 1.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

IGNORED_KEYS = {"timings_s", "schema_version", "traceback", "seconds"}  # "seconds": training wall time
IGNORED_PATTERNS = (re.compile(r".*_s$"), re.compile(r".*_per_s$"))


def ignored(key: str) -> bool:
    return key in IGNORED_KEYS or any(p.fullmatch(key) for p in IGNORED_PATTERNS)


def _strip_paths(v, roots: tuple[str, ...]):
    """Strings holding the builds' own folders compare equal across two folders."""
    if isinstance(v, str):
        for r in roots:
            v = v.replace(r, "<OUT>")
    return v


def diff(a, b, path: str = "", roots: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())) -> dict[str, list]:
    out: dict[str, list] = {"changed": [], "added": [], "removed": []}
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if ignored(str(k)):
                continue
            p = f"{path}.{k}" if path else str(k)
            if k not in b:
                out["removed"].append(p)
            elif k not in a:
                out["added"].append(p)
            else:
                sub = diff(a[k], b[k], p, roots)
                for key in out:
                    out[key] += sub[key]
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out["changed"].append((path, f"list of {len(a)}", f"list of {len(b)}"))
            return out
        for i, (x, y) in enumerate(zip(a, b)):
            sub = diff(x, y, f"{path}[{i}]", roots)
            for key in out:
                out[key] += sub[key]
        return out
    if _strip_paths(a, roots[0]) != _strip_paths(b, roots[1]):
        out["changed"].append((path, a, b))
    return out


def compare_files(before: Path, after: Path, roots=((), ())) -> dict[str, list]:
    return diff(json.loads(before.read_text()), json.loads(after.read_text()), roots=roots)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", type=Path)
    ap.add_argument("after", type=Path)
    ap.add_argument("--max-rows", type=int, default=20, help="differences printed per report")
    args = ap.parse_args(argv)
    if args.before.is_dir():
        pairs = [(p, args.after / p.relative_to(args.before)) for p in sorted(args.before.rglob("report/report.json"))]
        roots = ((str(args.before.resolve()), str(args.before)), (str(args.after.resolve()), str(args.after)))
    else:
        pairs, roots = [(args.before, args.after)], ((), ())
    if not pairs:
        print(f"no report.json below {args.before}")
        return 1
    bad = 0
    for b, a in pairs:
        name = str(b.relative_to(args.before)) if args.before.is_dir() else str(b)
        if not a.is_file():
            print(f"{name}: MISSING in {args.after}")
            bad += 1
            continue
        d = compare_files(b, a, roots)
        status = "identical" if not d["changed"] and not d["removed"] else "DIFFERENT"
        bad += status != "identical"
        print(f"{name}: {status}: {len(d['changed'])} values changed, {len(d['removed'])} keys removed, "
              f"{len(d['added'])} keys added")
        for p, x, y in d["changed"][: args.max_rows]:
            print(f"  changed {p}: {str(x)[:80]} -> {str(y)[:80]}")
        for p in d["removed"][: args.max_rows]:
            print(f"  removed {p}")
        for p in d["added"][: args.max_rows]:
            print(f"  added   {p}")
    print(f"{len(pairs)} reports compared, {bad} different")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
