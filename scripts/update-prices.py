#!/usr/bin/env python3
"""Regenerate src/cost/prices.json from LiteLLM's bundled price table.

LiteLLM (MIT licence, see NOTICE.md) ships `model_prices_and_context_window_backup.json`
inside its PyPI package. This script downloads that package with pip (no dependencies, no
install), pulls the JSON out of the wheel or sdist, keeps only what llmwatch prices (token
prices of chat, completion, responses and embedding models) and writes a small, sorted,
one-model-per-line JSON that `llmwatch::cost` embeds at compile time.

    scripts/update-prices.py                  # the pinned LiteLLM version
    scripts/update-prices.py 1.111.0          # another version
    scripts/update-prices.py --from FILE      # an already extracted JSON (version: "unknown",
                                              # or the one given as the positional argument)

Only the Python standard library and pip are needed.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PINNED_VERSION = "1.110.2"
UPSTREAM_NAME = "model_prices_and_context_window_backup.json"
REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT = REPO_ROOT / "src" / "cost" / "prices.json"
NOTICE = REPO_ROOT / "NOTICE.md"

# LiteLLM's `mode` values for models billed per token of text. Image, audio, realtime, video,
# rerank, moderation, search and OCR entries are priced per image / second / query / page and
# are left out.
MODES = ("chat", "completion", "responses", "embedding")

# LiteLLM field -> our field. Absent fields are omitted; an explicit 0.0 is kept (a real price).
BASE_FIELDS = {
    "input_cost_per_token": "input",
    "output_cost_per_token": "output",
    "cache_read_input_token_cost": "cache_read",
    "cache_creation_input_token_cost": "cache_write",
    "output_cost_per_reasoning_token": "reasoning",
}

# Long-context tiers: `input_cost_per_token_above_200k_tokens` and friends. The threshold is
# whatever the key says (200k for Anthropic and Gemini, 272k for GPT-5.4 and later, ...).
# Service-tier variants (`..._priority`, `..._batches`, `..._flex`) and the 1-hour cache-write
# price (`cache_creation_input_token_cost_above_1hr`) do not match: the key must end in `_tokens`.
TIER_KEY = re.compile(
    r"^(input_cost_per_token|output_cost_per_token|cache_read_input_token_cost"
    r"|cache_creation_input_token_cost|output_cost_per_reasoning_token)_above_(\d+)(k?)_tokens$"
)


def clean(x: object) -> float | None:
    """A price as a float with 10 significant digits (drops upstream noise such as
    1.0000000000000001e-07), or None when it is not a finite, non-negative number."""
    if isinstance(x, bool):
        return None
    if isinstance(x, str):
        try:
            x = float(x)
        except ValueError:
            return None
    if not isinstance(x, (int, float)) or not math.isfinite(x) or x < 0:
        return None
    return float(f"{float(x):.10g}")


def fields_of(src: dict) -> dict:
    out = {}
    for upstream, ours in BASE_FIELDS.items():
        v = clean(src.get(upstream))
        if v is not None:
            out[ours] = v
    return out


def flat_tiers(entry: dict) -> list[dict]:
    """`*_above_Nk_tokens` keys grouped by threshold."""
    by_threshold: dict[int, dict] = {}
    for key, value in entry.items():
        m = TIER_KEY.match(key)
        if not m:
            continue
        v = clean(value)
        if v is None:
            continue
        above = int(m.group(2)) * (1000 if m.group(3) else 1)
        by_threshold.setdefault(above, {})[BASE_FIELDS[m.group(1)]] = v
    return [{"above": above, **prices} for above, prices in sorted(by_threshold.items())]


def range_tiers(entry: dict, base: dict) -> tuple[dict, list[dict]] | None:
    """LiteLLM's `tiered_pricing` list (Dashscope/Qwen style: `range: [start, end]`, the whole
    request billed at the tier its input falls in). The tier starting at 0 becomes the base
    price, the others become tiers. A rate a tier leaves out falls back as LiteLLM does it:
    cache rates to that tier's input rate, reasoning to that tier's output rate, output to the
    model's own output rate."""
    ranges = []
    for tier in entry.get("tiered_pricing") or []:
        r = tier.get("range") if isinstance(tier, dict) else None
        if not (isinstance(r, list) and len(r) == 2):
            continue
        start = clean(r[0])
        prices = fields_of(tier)
        if start is None or "input" not in prices:
            continue
        ranges.append((int(start), prices))
    if not ranges:
        return None
    ranges.sort(key=lambda t: t[0])
    if ranges[0][0] != 0:
        return None
    model_output = base.get("output")

    def complete(prices: dict) -> dict:
        p = dict(prices)
        if "output" not in p and model_output is not None:
            p["output"] = model_output
        p.setdefault("cache_read", p["input"])
        p.setdefault("cache_write", p["input"])
        if "output" in p:
            p.setdefault("reasoning", p["output"])
        return p

    first = complete(ranges[0][1])
    if "output" not in first:
        return None
    # Keep the file lean: leave out a rate that llmwatch's own fallback (tier -> base -> the
    # tier's input or output rate) derives to the same value.
    fallbacks = (("cache_read", "input"), ("cache_write", "input"), ("reasoning", "output"))
    for k, fallback in fallbacks:
        if first.get(k) == first.get(fallback):
            del first[k]
    tiers = []
    for start, prices in ranges[1:]:
        tier = complete(prices)
        for k, fallback in fallbacks:
            if k not in first and tier.get(k) == tier.get(fallback):
                del tier[k]
        if tier.get("output") == first["output"] and "output" not in prices:
            del tier["output"]
        tiers.append({"above": start, **tier})
    return first, tiers


def convert(upstream: dict, version: str, sha256: str) -> tuple[dict, dict]:
    models: dict[str, dict] = {}
    stats = {"kept": 0, "skipped_mode": 0, "skipped_unpriced": 0, "zero_priced": 0, "tiered": 0}
    lowered: dict[str, str] = {}
    for key, entry in upstream.items():
        if key == "sample_spec" or not isinstance(entry, dict):
            continue
        if entry.get("mode") not in MODES:
            stats["skipped_mode"] += 1
            continue
        provider = entry.get("litellm_provider")
        if not isinstance(provider, str) or not provider:
            stats["skipped_unpriced"] += 1
            continue
        base = fields_of(entry)
        tiers = flat_tiers(entry)
        ranged = range_tiers(entry, base)
        if ranged is not None:
            base, tiers = ranged
        if "input" not in base:
            # Priced per second, per character, by commitment, or not at all: not per token.
            stats["skipped_unpriced"] += 1
            continue
        if "output" not in base:
            if entry.get("mode") != "embedding":
                stats["skipped_unpriced"] += 1
                continue
            base["output"] = 0.0  # embeddings produce no output tokens
        if base["input"] == 0 and base["output"] == 0:
            stats["zero_priced"] += 1
        norm = key.strip().lower()
        if norm in lowered:
            print(f"warning: {key!r} and {lowered[norm]!r} differ only in case; keeping the first",
                  file=sys.stderr)
            continue
        lowered[norm] = key
        record = {"provider": provider, **base}
        if tiers:
            record["tiers"] = tiers
            stats["tiered"] += 1
        models[key.strip()] = record
        stats["kept"] += 1
    source = {
        "upstream": "LiteLLM (https://github.com/BerriAI/litellm), MIT licence, see NOTICE.md",
        "file": f"litellm/{UPSTREAM_NAME}",
        "litellm_version": version,
        "sha256": sha256,
        "modes": list(MODES),
        "generated_by": "scripts/update-prices.py",
        # `llmwatch --version` shows it (build.rs reads it).
        "date": datetime.date.today().isoformat(),
    }
    return {"_source": source, **models}, stats


def render(table: dict) -> str:
    """One model per line, keys sorted: small, deterministic and readable in a diff."""
    lines = []
    for key in sorted(table):
        value = json.dumps(table[key], sort_keys=True, separators=(",", ":"))
        lines.append(f"{json.dumps(key)}:{value}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def extract_from_archive(archive: Path) -> tuple[bytes, str | None]:
    """The price JSON and the LICENSE text out of a wheel (zip) or sdist (tar.gz)."""
    want = f"litellm/{UPSTREAM_NAME}"
    if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            data = next((z.read(n) for n in names if n.endswith(want)), None)
            lic = next((n for n in names if n.endswith(".dist-info/licenses/LICENSE")
                        or n.endswith(".dist-info/LICENSE")), None)
            license_text = z.read(lic).decode("utf-8", "replace") if lic else None
    else:
        with tarfile.open(archive) as t:
            members = t.getmembers()
            m = next((m for m in members if m.name.endswith(want)), None)
            data = t.extractfile(m).read() if m else None
            lm = next((m for m in members if m.name.count("/") == 1 and m.name.endswith("/LICENSE")),
                      None)
            license_text = t.extractfile(lm).read().decode("utf-8", "replace") if lm else None
    if data is None:
        sys.exit(f"error: {want} not found in {archive.name}")
    return data, license_text


def download(version: str) -> tuple[bytes, str | None]:
    with tempfile.TemporaryDirectory(prefix="llmwatch-prices-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
               f"litellm=={version}", "-d", tmp]
        print("+", " ".join(cmd), file=sys.stderr)
        subprocess.run(cmd, check=True)
        archives = sorted(Path(tmp).iterdir())
        if len(archives) != 1:
            sys.exit(f"error: expected one downloaded file, found {[a.name for a in archives]}")
        return extract_from_archive(archives[0])


def check_notice(license_text: str | None) -> None:
    if not license_text:
        return
    line = next((l.strip() for l in license_text.splitlines() if l.strip().startswith("Copyright")),
                None)
    if line and NOTICE.exists() and line not in NOTICE.read_text(encoding="utf-8"):
        print(f"warning: NOTICE.md does not contain LiteLLM's current copyright line: {line!r}",
              file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("version", nargs="?", help=f"litellm version on PyPI (default {PINNED_VERSION})")
    ap.add_argument("--from", dest="from_file", metavar="FILE", type=Path,
                    help=f"use an already extracted {UPSTREAM_NAME} instead of downloading")
    ap.add_argument("-o", "--output", type=Path, default=OUTPUT, help=f"default {OUTPUT}")
    args = ap.parse_args()

    if args.from_file:
        raw = args.from_file.read_bytes()
        version = args.version or "unknown"
        license_text = None
    else:
        version = args.version or PINNED_VERSION
        raw, license_text = download(version)
    check_notice(license_text)

    sha256 = hashlib.sha256(raw).hexdigest()
    table, stats = convert(json.loads(raw), version, sha256)
    text = render(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output} ({len(text.encode())} bytes): litellm {version}, sha256 {sha256}",
          file=sys.stderr)
    print("  " + ", ".join(f"{k} {v}" for k, v in stats.items()), file=sys.stderr)


if __name__ == "__main__":
    main()
