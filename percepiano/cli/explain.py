"""`percepiano explain`: the 19-dimension profile of a performance with, per dimension, one
sentence naming the descriptors that moved the final model's score most, in musical terms
(``analysis.explain``)."""

from __future__ import annotations

import textwrap

from percepiano.cli.common import add_data_option, emit
from percepiano.cli.takes import EXIT_STATUS, OK, SOME_REFUSED, add_take_inputs
from percepiano.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "explain", help="why the final model scored a performance as it did, in one sentence "
                        "per dimension",
        description="Score performances as `percepiano predict` does (the same files, routes, "
                    "checks and cached final models) and say, for each of the 19 dimensions, "
                    "why: the score on the raters' 1-7 scale with its conformal "
                    "interval (as `predict` gives it), the pole it leans to from the "
                    "PercePiano mean, and the "
                    "descriptor that moved it most that way, in musical terms (the sustain "
                    "pedal's time down, note lengths, velocities, pace...), placed among the "
                    "PercePiano development performances ('more than in 90 %' means at least "
                    "90 % of them lie below; shares are rounded down to tens). How far a "
                    "descriptor moves the score is its SHAP value (Lundberg & Lee 2017) for "
                    "the final model's random forest, computed exactly by TreeSHAP (Lundberg "
                    "et al. 2020, through the shap library); the mean is the forest's mean "
                    "prediction over its training performances, and the descriptors' SHAP "
                    "values add up to the distance from it. These attributions explain the "
                    "model, not the raters: they say what this forest's score rests on, not "
                    "what the listeners heard. A folder scores what it can, as `predict`'s "
                    f"does; {EXIT_STATUS}.")
    add_take_inputs(p)
    p.add_argument("--via", choices=("sound", "notes"), default=None,
                   help="how an audio file is scored, as for `percepiano predict` (default: "
                        "notes, the route the transcription chapter measured ahead of the "
                        "sound route on a few excerpts, too little music for a test; "
                        "`percepiano predict --help` says how many)")
    p.add_argument("--top", type=int, default=1, metavar="N",
                   help="name the N descriptors that moved each score most its way "
                        "(default 1)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: predict's profile, each dimension with its mean, the pole "
                        "it leans to, its reasons (descriptor column, value, SHAP value in "
                        "rating points, shares of performances below/equal/above) and sentence")
    add_data_option(p)
    p.set_defaults(func=_explain)


def _explain(args) -> int:
    from percepiano.cli.takes import cache_notes, check_level, expand, read_takes

    files = expand(args.inputs)
    check_level(args.level)
    if args.top < 1:
        raise UserError(f"--top must be at least 1, got {args.top}")
    from percepiano.analysis import explain
    from percepiano.cli import model as model_cli

    takes, refused = read_takes(files, args.via, command="explain")
    models = {k: model_cli.ensure(k, args.data) for k in sorted({t.kind for t in takes})}
    profiles = [explain.explain(t, models[t.kind], args.level, args.top) for t in takes]
    cache_notes(profiles)
    text = "\n\n".join(_text(p, models[p["input"]]) for p in profiles)
    emit(profiles[0] if len(profiles) == 1 else profiles, args.json, text)
    return SOME_REFUSED if refused else OK


def _text(profile: dict, model) -> str:
    from percepiano.analysis.scoring import intervals_line
    from percepiano.cli.predict import header

    why = (f"{intervals_line(profile['level'], model)}. After each score, the pole it "
           "leans to from the PercePiano mean, and the descriptors that moved it most that "
           "way, by how many rating points (SHAP values of the forest: they explain the "
           f"model, not the raters), compared with {profile['attribution']['compared_with']}.")
    lines = [*header(profile, model), *textwrap.wrap(why, 100), ""]
    lines += [textwrap.fill(d["sentence"], 100, subsequent_indent="    ",
                            break_long_words=False, break_on_hyphens=False)
              for d in profile["dimensions"]]
    lines += [f"note: {n}" for n in profile["notes"]]
    return "\n".join(lines)
