"""The tables of ``invariance_report.py``: each condition's row (Δ against the reference,
the intervals' hold on the reference's scores, the notes it adds, a verdict) and the markdown
report, one table per kind of fault."""

from __future__ import annotations

import re


def summary(result: dict, ref: dict | None) -> dict:
    """One condition's row: status, Δ and its dimension, how many of the reference's 19 scores
    lie in the condition's intervals (``covered``), duration, notes beyond the reference's,
    every score, and the verdict."""
    if "refused" in result:
        return {"status": "refused", "message": result["refused"], "exit": result.get("exit"),
                "verdict": "refused, with the reason"}
    p = result["profile"]
    scores = {d["dimension"]: d["score"] for d in p["dimensions"]}
    row = {"status": "scored", "seconds": p["seconds"], "windows": p["windows"],
           "notes": p["notes"], "scores": scores}
    if ref is not None and "profile" in ref:
        base = {d["dimension"]: d["score"] for d in ref["profile"]["dimensions"]}
        diff = {d: abs(scores[d] - base[d]) for d in base}
        worst = max(diff, key=diff.get)
        covered = sum(d["low"] <= base[d["dimension"]] <= d["high"] for d in p["dimensions"]
                      if d["low"] is not None)
        row.update(delta=diff[worst], dimension=worst, covered=covered)
        judge(row, ref["profile"]["notes"])
    return row


# every take read through its notes has these, worded by how it went (cached or timed)
ROUTINE = ("scored through its notes: transkun transcribed", "loudness of the mono mix")


def _shape(note: str) -> str:
    """A note without its numbers: the same kind of note about another file."""
    return re.sub(r"\d[\d.,]*", "#", note)


def judge(row: dict, ref_notes: list[str]) -> None:
    """Set a scored row's ``new_notes`` (its notes of a kind the reference's lack: the same
    note with other numbers, as the time a transcription took, is not new) and ``verdict``."""
    known = {_shape(n) for n in ref_notes}
    new = [n for n in row["notes"] if _shape(n) not in known and not n.startswith(ROUTINE)]
    row["new_notes"] = new
    said = "with a note" if new else "no note"
    wide = "widened " if any("intervals are widened" in n for n in new) else ""
    row["verdict"] = ("same scores" if row["delta"] < MOVED else
                      f"moved, {said}, {wide}intervals hold the reference's {row['covered']}/19")


def retable(report: dict) -> dict:
    """``report`` with every scored row judged again (``judge``) against its reference's
    stored notes: a report stored before the rule changed, read by today's rule."""
    refs = {(r.get("segment"), r["name"], r.get("route")): r for r in report["conditions"]
            if r["name"].startswith("reference/")}
    for r in report["conditions"]:
        if r.get("status") == "scored" and "delta" in r:
            name = "reference/midi" if r["kind"] == "midi" else "reference/audio"
            ref = refs.get((r.get("segment"), name, "midi" if r["kind"] == "midi" else
                            r.get("route")))
            if ref is not None:
                judge(r, ref.get("notes", []))
    return report


MOVED = 0.1  # Δ from which scores count as moved (the 1-7 scale)


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _delta(row: dict | None) -> str:
    if row is None:
        return "-"
    if row["status"] != "scored":
        return row["status"]
    return "-" if row.get("delta") is None else f"{row['delta']:.3f}"


GROUPS = [  # the kinds of fault the report is organised by: (name, pattern on the condition)
    ("sound a transcriber cannot read", r"^render/(flat|a415|organ|violin|harpsichord|four)"),
    ("recording quality", r"^audio/(telephone|wav_8bit|mp3_48k)$"),
    ("writing outputs and the cache", r"^output/"),
    ("a folder with a bad file", r"^folder/"),
    ("long and repeated takes", r"repeat_"),
    ("other recordings and encodings", r""),
]


def group(name: str) -> str:
    return next(g for g, pattern in GROUPS if re.search(pattern, name))


def _key(r: dict) -> tuple:
    return r.get("segment"), r["name"], r.get("route")


def _tally(rows: list[dict]) -> str:
    rows = [r for r in rows if not r["name"].startswith("reference/")]
    scored = [r["delta"] for r in rows if r.get("delta") is not None]
    count = {s: sum(r["status"] == s for r in rows) for s in ("refused", "not built")}
    return (f"{len(rows)} inputs: {sum(d < 0.005 for d in scored)} within 0.005 of the "
            f"reference, {sum(d >= MOVED for d in scored)} off by {MOVED} or more, "
            f"{count['refused']} refused, {count['not built']} not built, "
            f"{sum(r['status'] == 'ran' for r in rows)} output and folder cases.")


def markdown(report: dict, before: dict | None, ref_sr: int) -> str:
    """The report as markdown tables, one per kind of fault, with a header saying what ran."""
    code = report["code"]
    lines = [f"# Same performance, same scores: `percepiano predict` on {report['segment']} "
             f"and {len(report['segments']) - 1} more segments", "",
             f"Takes: PercePiano development segments (their MIDI; reference audio rendered "
             f"with FluidR3 at {ref_sr} Hz, 16-bit WAV). Code: `{code['package']}` at commit "
             f"{str(code['commit'])[:12]}{' with uncommitted changes' if code['dirty'] else ''}"
             f"; {report['date']}, {report['seconds_total']:.0f} s in all.", "",
             "Δ: the largest absolute change of any of the 19 scores (1-7 scale) against the "
             "reference of the same kind and route (MIDI conditions: the original MIDI; audio "
             "and render conditions: the reference WAV); covered: how many of the reference's "
             "19 scores lie inside the condition's 80 % intervals. Notes: those the reference "
             f"does not have. Verdict: same scores below Δ {MOVED}.", "",
             _tally(report["conditions"]), ""]
    old = {_key(r): r for r in before["conditions"]} if before else {}
    head = (["condition", "segment", "route"] + (["Δ before", "Δ after"] if before else ["Δ"])
            + (["verdict before"] if before else []) + ["verdict", "notes / refusal / message"])
    for name, _ in GROUPS:
        rows = [r for r in report["conditions"] if group(r["name"]) == name]
        if not rows:
            continue
        lines += [f"## {name}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in rows:
            note = r.get("message") or "; ".join(r.get("new_notes", []))
            b = old.get(_key(r))
            cells = [f"`{r['name']}`", r.get("segment", "")[-12:], r.get("route", "")]
            cells += [_delta(b), _delta(r)] if before else [_delta(r)]
            cells += ([(b or {}).get("verdict", "-")] if before else []) + [
                r.get("verdict", ""), note]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines) + "\n"




def portable(text: str, roots: list[str]) -> str:
    """``text`` (the report, as JSON or markdown) without this machine's paths: each checkout
    in ``roots`` written ``<root>``, the temporary take folders ``<takes>``."""
    for root in sorted(roots, key=len, reverse=True):
        text = text.replace(root, "<root>")
    return re.sub(r"/[^\s\"']*?/invariance-[A-Za-z0-9_]+", "<takes>", text)
