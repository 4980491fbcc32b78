"""Where the browser bundle's bytes go, from `twiggy top --format json` of a wasm with names.

Usage (scripts/bundle-size.sh --twiggy runs it): python3 bench/twiggy-summary.py top.json

Prints the code and data by crate (the crate of the function's path, or of the trait impl's
type: `<T as tachys::...>` counts as tachys), with the async hydration path (`hydrate_async`)
and view building (`build`/`rebuild`/`hydrate`) of any crate split out, then the largest items.
The name sections themselves are left out: the served wasm has none.
"""

import collections
import json
import re
import sys

rows = json.load(open(sys.argv[1]))
items = []
for row in rows:
    name = row["name"]
    if name.startswith('"') or name.startswith("... and") or name.startswith("Σ"):
        continue  # name/custom sections, twiggy's own summary rows
    name = re.sub(r"\[[0-9a-f]{16}\]", "", name)  # std's crate hashes
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)  # symbol hashes
    items.append((name, row["shallow_size"]))
total = sum(size for _, size in items)


def crate(name: str) -> str:
    if name.startswith("data segment"):
        return "data (strings, tables)"
    if name.startswith("code[") or name.startswith("elem[") or name.startswith("import "):
        return "unnamed, imports, tables"
    m = re.match(r"<&?[A-Za-z][A-Za-z0-9_]* as ([a-z_][a-z0-9_]*)::", name)  # <T as tachys::...>
    if not m:
        m = re.match(r"<?&?(?:mut )?(?:dyn )?([a-z_][a-z0-9_]*)::", name)
    return m.group(1) if m else name.split("::")[0][:40]


def group(name: str) -> str:
    if "hydrate_async" in name:
        return "(any crate) async hydration, hydrate_async"
    return crate(name)


by_group = collections.Counter()
for name, size in items:
    by_group[group(name)] += size
print(f"\n{'where':<46}{'bytes':>10}{'share':>8}")
shown = 0
for where, size in by_group.most_common(16):
    print(f"{where:<46}{size:>10,}{size / total:>8.1%}")
    shown += size
print(f"{'everything else':<46}{total - shown:>10,}{(total - shown) / total:>8.1%}")
print(f"{'total (code and data, no names)':<46}{total:>10,}")

print("\nlargest items:")
for name, size in sorted(items, key=lambda item: -item[1])[:12]:
    print(f"{size:>8,}  {name[:130]}")
