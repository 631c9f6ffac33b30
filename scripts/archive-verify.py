#!/usr/bin/env python3
"""Verify an afterflow archive bundle with nothing but the Python standard library.

    python3 archive-verify.py RO-20261122-0001.zip

Checks that manifest.sha256 is the hash of manifest.json, that every file the manifest lists is
in the bundle with that SHA-256, that the bundle holds no file the manifest does not list, and
that each issued document's file hashes to the SHA-256 recorded when it was issued. Prints
"OK" and exits 0, or prints the first problem and exits 1.
"""

import hashlib
import json
import sys
import zipfile

FORMAT = "afterflow-archive/1"
OWN_FILES = {"manifest.json", "manifest.sha256"}


def problem_in(path):
    """Return the first problem found in the bundle at ``path``, or None when it verifies."""
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        return f"cannot read {path}: {error}"
    with bundle:
        names = bundle.namelist()
        if len(names) != len(set(names)):
            return "the bundle holds two files of the same name"
        try:
            contents = {name: bundle.read(name) for name in names}
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            return f"the bundle is damaged: {error}"
    if not set(contents) >= OWN_FILES:
        return "manifest.json or manifest.sha256 is missing"
    recorded = contents["manifest.sha256"].decode("ascii", "replace").split()
    if not recorded or recorded[0] != hashlib.sha256(contents["manifest.json"]).hexdigest():
        return "manifest.json does not match manifest.sha256"
    try:
        manifest = json.loads(contents["manifest.json"].decode("utf-8"))
    except ValueError as error:
        return f"manifest.json is not valid JSON: {error}"
    if manifest.get("format") != FORMAT:
        return f"not an {FORMAT} bundle"
    listed = manifest.get("files") or {}
    for name in sorted(listed):
        if name not in contents:
            return f"{name} is listed in the manifest but missing"
        if hashlib.sha256(contents[name]).hexdigest() != listed[name]:
            return f"{name} was changed: its SHA-256 differs from the manifest's"
    for name in sorted(set(contents) - OWN_FILES - set(listed)):
        return f"{name} is in the bundle but not in the manifest"
    for document in manifest.get("documents") or []:
        if listed.get(document.get("file")) != document.get("sha256"):
            return f"document {document.get('number')} differs from the hash recorded when it was issued"
    return None


def main(argv):
    if len(argv) != 2:
        print("usage: archive-verify.py BUNDLE.zip", file=sys.stderr)
        return 2
    found = problem_in(argv[1])
    if found:
        print(f"FAILED: {found}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
