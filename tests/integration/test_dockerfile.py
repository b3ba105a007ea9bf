"""hull dockerfile parse: reads a Dockerfile the way Docker's frontend does and prints what it
understood; touches nothing else."""

import json

DOCKERFILE = """\
# syntax=docker/dockerfile:1
ARG BASE=busybox
FROM ${BASE}:latest AS build
ENV GREETING="hello world" \\
    LEVEL=3
RUN echo "$GREETING" > /greeting && \\
    cat /greeting
FROM busybox:latest
COPY --from=build /greeting /greeting
EXPOSE 8080/tcp
CMD ["/bin/cat", "/greeting"]
"""


def test_parse_prints_json(hull, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)
    out = hull.ok("dockerfile", "parse", "-f", dockerfile, "--format", "json")
    text = json.dumps(json.loads(out))
    for word in ("FROM", "ENV", "RUN", "COPY", "EXPOSE", "CMD"):
        assert word.lower() in text.lower(), f"{word} missing from {out[:500]}"
    assert "/greeting" in text
    assert not (hull.root / "index.json").exists(), "parsing a Dockerfile writes no store"


def test_parse_reads_stdin(hull):
    out = hull.ok("dockerfile", "parse", "-f", "-", "--format", "json", input=DOCKERFILE.encode())
    assert "/greeting" in json.dumps(json.loads(out))


def test_parse_text_output(hull, tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(DOCKERFILE)
    out = hull.ok("dockerfile", "parse", "-f", dockerfile)
    assert "COPY" in out.upper() and out.strip()
