"""``python -m streaming.multimodal.convert.webvid.extract_webvid_videos --in MDS --out_mds MDS
--out_mp4 DIR``: a WebVid dataset with the videos inside its shards (``content``) to one with
them outside: each video becomes ``<out_mp4>/<NNN>/<NNN>.mp4`` (by sample index, as the peer
names them) and the shards hold its relative path in ``content_path``, the peer's columns. Read
it with `streaming.multimodal.StreamingOutsideGIWebVid` (``extra_remote`` = where the videos are).
"""

from __future__ import annotations

import argparse
import os

OUT_COLUMNS = {
    "videoid": "str",
    "name": "str",
    "page_idx": "str",
    "page_dir": "str",
    "duration": "int",
    "contentUrl": "str",
    "content_path": "str",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The peer's arguments."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--in", type=str, required=True, help="Input mp4-inside MDS dataset directory")
    p.add_argument("--out_mds", type=str, required=True, help="Output mp4-outside MDS dataset")
    p.add_argument("--out_mp4", type=str, required=True, help="Output mp4 videos directory")
    p.add_argument("--compression", type=str, default="zstd:16", help="Compression")
    p.add_argument("--hashes", type=str, default="sha1,xxh3_64", help="Hashes")
    p.add_argument("--size_limit", type=int, default=1 << 25, help="Shard size limit")
    return p.parse_args(argv)


def main(args: argparse.Namespace) -> None:
    """Write the videos out and the dataset without them, sample by sample in index order."""
    from streaming import MDSWriter, StreamingDataset

    hashes = args.hashes.split(",") if args.hashes else []
    dataset = StreamingDataset(local=getattr(args, "in"), batch_size=1)
    with MDSWriter(
        out=args.out_mds,
        columns=OUT_COLUMNS,
        compression=args.compression or None,
        hashes=hashes,
        size_limit=args.size_limit,
    ) as out:
        for i in range(dataset.num_samples):
            sample = dict(dataset[i])
            if "content" not in sample:
                raise SystemExit(
                    f"error: sample {i} of {getattr(args, 'in')!r} has no 'content' column (its "
                    f"columns: {sorted(sample)}); --in must be a dataset with the videos inside"
                )
            content_path = f"{i // 1000:03}/{i % 1000:03}.mp4"
            filename = os.path.join(args.out_mp4, content_path)
            os.makedirs(os.path.dirname(filename), exist_ok=True)
            with open(filename, "wb") as f:
                f.write(sample.pop("content"))
            sample["content_path"] = content_path
            out.write(sample)


if __name__ == "__main__":
    main(parse_args())
