"""How close colalamo's token estimate (`/v1/messages/count_tokens`) is to a real tokenizer.

The reference is the Claude tokenizer that Anthropic published in its SDK up to version 0.3x
(`anthropic/tokenizer.json`, read with the `tokenizers` package). Run it in a scratch venv,
not colalamo's (the old SDK pins an old httpx):

    python -m venv /tmp/tok && /tmp/tok/bin/pip install "anthropic==0.30.0" tokenizers
    /tmp/tok/bin/python bench/token_estimate.py                 # the table
    /tmp/tok/bin/python bench/token_estimate.py --write-samples # refresh tests/data/token_reference.json

It prints, per file of this repository, the real count, the estimate and their ratio; the
estimate must never fall below the real count by more than 10% (ratio >= 0.9), and should
stay close (a large ratio makes agents compact too early).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "token_reference.json"
TOOLS = [  # a typical agent's tool definitions: JSON schema is much of what agents send
    {"name": "read_file", "description": "Read a file of the workspace.",
     "input_schema": {"type": "object", "properties": {"path": {"type": "string", "description": "Relative path"},
                      "start_line": {"type": "integer"}, "end_line": {"type": "integer"}}, "required": ["path"]}},
    {"name": "run_command", "description": "Run a shell command and return its output.",
     "input_schema": {"type": "object", "properties": {"command": {"type": "string"},
                      "timeout_seconds": {"type": "number", "default": 120}}, "required": ["command"]}},
]


def load_estimator():
    # Loaded from its file, so this runs where colalamo is not installed.
    spec = importlib.util.spec_from_file_location("token_estimate", ROOT / "colalamo" / "token_estimate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.estimate_text_tokens


def load_tokenizer():
    import anthropic
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(Path(anthropic.__file__).parent / "tokenizer.json"))


def corpus() -> list[Path]:
    files = sorted(ROOT.glob("colalamo/**/*.py")) + sorted(ROOT.glob("tests/*.py"))
    return files + [ROOT / "README.md", ROOT / "LICENSE"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-samples", action="store_true", help="refresh the test's reference samples")
    args = parser.parse_args()
    estimate, tokenizer = load_estimator(), load_tokenizer()
    ratios = []
    print(f"{'file':55} {'real':>7} {'estimate':>8} {'ratio':>6}")
    for path in corpus():
        text = path.read_text()
        real = len(tokenizer.encode(text).ids)
        if real < 50:
            continue
        ratios.append(estimate(text) / real)
        print(f"{str(path.relative_to(ROOT)):55} {real:7d} {estimate(text):8d} {ratios[-1]:6.2f}")
    print(f"\nratio: min {min(ratios):.2f}, mean {sum(ratios) / len(ratios):.2f}, max {max(ratios):.2f}")
    if args.write_samples:
        texts = {
            "english prose": (ROOT / "LICENSE").read_text()[:3000],
            "markdown": (ROOT / "README.md").read_text()[:3000],
            "python": (ROOT / "colalamo" / "server" / "openai" / "validation.py").read_text()[:3000],
            "json": json.dumps(TOOLS, indent=2),
        }
        samples = [{"name": k, "text": v, "reference_tokens": len(tokenizer.encode(v).ids)} for k, v in texts.items()]
        SAMPLES.write_text(json.dumps(samples, indent=1) + "\n")
        print(f"wrote {SAMPLES.relative_to(ROOT)}")
    return 0 if min(ratios) >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
