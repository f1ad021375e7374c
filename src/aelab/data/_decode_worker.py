"""Worker process of :func:`aelab.data.readers.read_image_folder`: decode a slice of images.

Reads a JSON job from stdin and writes the decoded rows in place into the job's ``.npy`` file.
Exit status 2 and the message on stderr for a malformed image.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from aelab.data.readers import DataFormatError, _decode_members


def main() -> int:
    job = json.loads(sys.stdin.buffer.read())
    out = np.load(job["out"], mmap_mode="r+")
    start, members = job["start"], job["members"]
    locs = None if job["locs"] is None else np.asarray(job["locs"], dtype=np.int64).reshape(-1, 4)
    try:
        _decode_members(job["source"], members, locs, tuple(job["expect"]), job["first"],
                        out=out[start:start + len(members)])
    except DataFormatError as exc:
        print(exc, file=sys.stderr)
        return 2
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
