#!/usr/bin/env python3
"""Groups the findings in a libFuzzer log (fork mode: many reports in one log) by kind and place.

A report starts at a UBSan "runtime error", an uncaught exception ("terminate called after throwing"), a sanitizer
ERROR, a libFuzzer ERROR (deadly signal, timeout, out-of-memory) or a harness check ("round trip changed", "contract
broken"), and ends at its SUMMARY line. Its place is the UBSan location, else the first stack frame in the
repository outside fuzz/ (else in fuzz/). Prints one line per distinct finding: count, kind, place.

usage: triage.py LOG REPO
"""
import collections
import re
import sys

UBSAN = re.compile(r"^(/\S+?):(\d+):\d+: runtime error: (.*)")
THROW = re.compile(r"terminate called after throwing an instance of '(.*)'")
ERROR = re.compile(r"==\d+== ?ERROR: (\w+): (.*)")
CHECK = re.compile(r"^(.*(?:round trip changed|contract broken).*?)(?::|$)")
FRAME = re.compile(r"^\s+#\d+ 0x[0-9a-f]+ in .* (/\S+?):(\d+)(?::\d+)?$")


def main():
    log, repo = sys.argv[1], sys.argv[2].rstrip("/") + "/"
    found = collections.Counter()
    first_message = {}
    cur = None  # [kind, place, fallback place]
    for line in open(log, errors="replace"):
        line = line.rstrip("\n")
        if cur is None:
            m = UBSAN.match(line)
            if m:
                cur = [f"UBSan: {m.group(3)}", f"{m.group(1).replace(repo, '')}:{m.group(2)}", None]
                continue
            m = THROW.search(line) or ERROR.search(line) or CHECK.match(line)
            if m:
                kind = (f"uncaught {m.group(1)}" if m.re is THROW
                        else f"{m.group(1)}: {m.group(2)}" if m.re is ERROR else m.group(1))
                cur = [re.sub(r"\(malloc\(\d+\)\)", "(malloc)", kind), None, None]
            continue
        m = FRAME.match(line)
        if m and cur[1] is None and m.group(1).startswith(repo):
            place = f"{m.group(1).replace(repo, '')}:{m.group(2)}"
            if place.startswith("fuzz/"):
                cur[2] = cur[2] or place
            else:
                cur[1] = place
        if line.startswith("SUMMARY:"):
            place = cur[1] or cur[2] or "?"
            key = place if cur[0].startswith("UBSan") else (cur[0], place)
            found[key] += 1
            first_message.setdefault(key, cur[0])
            cur = None
    for key, n in found.most_common():
        place = key if isinstance(key, str) else key[1]
        print(f"{n:6d} x {first_message[key][:150]} at {place}")


if __name__ == "__main__":
    main()
