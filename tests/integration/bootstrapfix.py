"""What the tests of hull bootstrap and of the images built on it need: mmdebstrap and a Debian
mirror that answers. Both skip the test, with the reason, when missing."""

import glob
import re
import shutil
import urllib.request
from pathlib import Path

import pytest


def apt_mirrors() -> list:
    """The Debian archive URLs this machine's apt uses (as hull picks its default mirror), then
    Debian's own."""
    found = []
    files = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")
                                               + glob.glob("/etc/apt/sources.list.d/*.sources"))
    for path in files:
        try:
            text = Path(path).read_text()
        except OSError:
            continue
        found += re.findall(r"^URIs:\s*(\S+)", text, re.M)
        found += re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", text, re.M)
    return [u for u in found if "/debian" in u and "security" not in u] + [
        "http://deb.debian.org/debian"]


def need_debian_mirror(suite="bookworm") -> str:
    """The mirror hull bootstrap will use, after checking that mmdebstrap is there and that the
    mirror serves the suite (one small request, a few seconds at most)."""
    if shutil.which("mmdebstrap") is None:
        pytest.skip("mmdebstrap is not installed (scripts/setup.sh installs it)")
    url = apt_mirrors()[0].rstrip("/")
    try:
        urllib.request.urlopen(f"{url}/dists/{suite}/InRelease", timeout=5).close()
    except OSError as e:
        pytest.skip(f"the Debian mirror {url} is not reachable: {e}")
    return url
