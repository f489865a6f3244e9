#!/usr/bin/env python3
"""Fails when #include edges form a cycle: between folders (preload, analyzer, reports, cli,
engine/*, ...) or between the units of one folder (x.h and x.cpp count as one unit x).

Usage: check_includes.py [ROOT]   (prints the cycles found, exits 1 if any)"""
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
FOLDERS = ["include", "preload", "analyzer", "reports", "cli", "engine", "bench"]
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for top in FOLDERS:
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for f in files:
                if f.endswith((".h", ".cpp", ".inc")):
                    yield os.path.relpath(os.path.join(dirpath, f), ROOT)


def resolve(path, name, known):
    """Where an #include "name" in path points: beside it, under its top folder (engine's own
    include root), or under include/."""
    here = os.path.dirname(path)
    top = path.split("/")[0]
    for candidate in (os.path.join(here, name), os.path.join(top, name), os.path.join("include", name)):
        candidate = os.path.normpath(candidate)
        if candidate in known:
            return candidate
    return None


def folder(path):
    """engine/ is layered by its subfolders; a file directly in engine/ (main.cpp, error.h) is a
    layer of its own."""
    parts = path.split("/")
    if parts[0] == "engine":
        return "/".join(parts[:2]) if len(parts) > 2 else unit(path)
    return parts[0]


def unit(path):
    return os.path.splitext(path)[0]


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    known = set(sources())
    folders, units = {}, {}
    for path in sorted(known):
        with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as f:
            text = f.read()
        for name in INCLUDE.findall(text):
            target = resolve(path, name, known)
            if not target:
                continue
            a, b = folder(path), folder(target)
            if a != b:
                folders.setdefault(a, set()).add(b)
            elif unit(path) != unit(target):
                units.setdefault(unit(path), set()).add(unit(target))
    found = [("folders", c) for c in cycles(folders)] + [("files", c) for c in cycles(units)]
    for kind, component in found:
        print(f"include cycle between {kind}: {' <-> '.join(component)}")
    print(f"{len(known)} files, {len(found)} include cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
