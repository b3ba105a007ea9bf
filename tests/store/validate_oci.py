#!/usr/bin/env python3
"""Validates a JSON document against one of the OCI image-spec schemas.

usage: validate_oci.py SCHEMA_DIR SCHEMA_FILE DOCUMENT
The schemas refer to each other by URL; every reference is served from SCHEMA_DIR by file name.
Exit status: 0 valid, 1 invalid, 2 no validator here.
"""
import json
import os
import sys
import urllib.parse

try:
    import jsonschema
except ImportError:
    print("python3-jsonschema is not installed")
    sys.exit(2)


def main():
    schema_dir, schema_file, document = sys.argv[1:4]

    def load(uri):
        name = os.path.basename(urllib.parse.urlparse(uri).path)
        if not name.endswith(".json"):
            name += ".json"
        with open(os.path.join(schema_dir, name)) as f:
            return json.load(f)

    with open(os.path.join(schema_dir, schema_file)) as f:
        schema = json.load(f)
    with open(document) as f:
        doc = json.load(f)
    resolver = jsonschema.RefResolver.from_schema(schema, handlers={"https": load, "http": load})
    validator = jsonschema.Draft4Validator(schema, resolver=resolver)
    errors = list(validator.iter_errors(doc))
    for e in errors:
        print("%s: %s at %s" % (document, e.message, "/".join(str(p) for p in e.path)))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
