"""Rank every pair of networks of one recipe as the shipped default's pair was chosen.

python scripts/choose_pair.py NET.pt NET.pt [NET.pt ...] --data KDEF_DIR --data FERPLUS_DIR

Each pair is averaged and balanced as `ensemble` and `balance` would make it, and judged on the
validation faces of the networks' shared split (emotion_desktop.core.train.pairs). Best first; the
first row is the pair to pass to `emotion-desktop-cli ensemble`, then `balance`.
"""

import argparse
import sys
from pathlib import Path

from emotion_desktop.cli.progress import ProgressBar
from emotion_desktop.core import paths
from emotion_desktop.core.errors import EmotionDesktopError
from emotion_desktop.core.train.pairs import rank_networks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("networks", type=Path, nargs="+", help="single networks, one split")
    parser.add_argument("--data", type=Path, action="append", required=True)
    args = parser.parse_args(argv)
    bar = ProgressBar()
    try:
        ranked = rank_networks(args.networks, args.data, paths.cache_dir(), bar.update)
    except EmotionDesktopError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar.done()
    sources = list(ranked[0].validation)
    print("pair  tau  mean macro  all  " + "  ".join(f"{s} acc / macro" for s in sources))
    for pair in ranked:
        figures = "  ".join(
            f"{pair.validation[s].accuracy:.1%} / {pair.validation[s].macro_accuracy:.1%}"
            for s in sources
        )
        print(
            f"{'+'.join(pair.names)}  {pair.tau:.1f}  {pair.mean_macro:.2%}  "
            f"{pair.accuracy:.1%}  {figures}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
