"""The dataset card (README.md) of a snapshot, generated from its manifest.

The YAML header follows the Hugging Face dataset-card convention (``configs`` with
``data_files`` per split), so the folder loads with ``datasets.load_dataset(folder,
name)`` as well as file by file.
"""

import json

FORMAT_NOTES = {
    "pairwise": "`prompt`, `chosen`, `rejected` (TRL's preference format) with `margin`, "
    "`weight`, `soft_label` and provenance columns",
    "listwise": "`prompt`, `responses`, `ranking` (tiers of indices into `responses`, best "
    "first) for K-wise losses",
    "sft": "`messages` ending with the demonstrated assistant turn",
    "ratings": "`prompt`, `response`, `rating` (of `scale`) and rubric scores",
    "spans": "`response` with its tagged `spans` (code-point offsets) and `labels`",
}


def card_text(manifest: dict) -> str:
    options = manifest["options"]
    file_type = "parquet" if "parquet" in options["file_types"] else "jsonl"
    configs = []
    for fmt in options["formats"]:
        splits = [s for s, n in manifest["counts"].get(fmt, {}).items() if n]
        if not splits:
            continue
        configs.append(f"- config_name: {fmt}\n  data_files:")
        configs.extend(f"  - split: {s}\n    path: {fmt}/{s}.{file_type}" for s in splits)
    header = "---\nconfigs:\n" + "\n".join(configs) + "\n---\n" if configs else ""
    lines = [
        header,
        f"# {manifest['project']['name']} — snapshot {manifest['snapshot']}",
        "",
        f"Exported by PrefLab from project `{manifest['project']['slug']}`: "
        f"{manifest['items']:,} items, {manifest['annotations']:,} annotations from "
        f"{manifest['annotators']:,} annotators.",
        "",
        "## Files and rows",
        "",
        "| format | " + " | ".join(options["splits"]) + " |",
        "|---|" + "---:|" * len(options["splits"]),
    ]
    for fmt in options["formats"]:
        counts = manifest["counts"].get(fmt, {})
        cells = " | ".join(f"{counts.get(s, 0):,}" for s in options["splits"])
        lines.append(f"| {fmt} | {cells} |")
    lines += ["", "Columns:", ""]
    lines += [f"- **{fmt}**: {FORMAT_NOTES[fmt]}." for fmt in options["formats"]]
    lines += [
        "",
        "## How it was made",
        "",
        f"- aggregation: `{options['aggregation']}`"
        + (
            " (one row set per item, from the reliability-weighted consensus)"
            if options["aggregation"] == "consensus"
            else " (every annotation's rows; annotators are keyed pseudonyms)"
        ),
        f"- binarization: `{options['binarization']}`, none-acceptable items: "
        f"`{options['none_acceptable']}`, prompt style: `{options['style']}`",
        f"- splits by prompt group (a hash of the normalised prompt with seed "
        f"{options['seed']}): " + ", ".join(f"{k} {v:g}" for k, v in options["splits"].items()),
        "- guideline versions covered: "
        + (", ".join(map(str, manifest["guideline_versions"])) or "none"),
        f"- annotation ids {manifest['annotation_ids']['min']}–{manifest['annotation_ids']['max']}",
        "- filters: `" + json.dumps(options["filters"], sort_keys=True) + "`",
        "",
        "Every file's sha256 is in `manifest.json`.",
        "",
    ]
    return "\n".join(lines)
