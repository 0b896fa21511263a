"""`companion bench WHAT`: which benchmark runs, with the options the command line gave."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def run(a: argparse.Namespace) -> None:
    """Run the bench `a.what` with the options `companion bench` parsed."""
    if a.what == "render":
        from companion.bench.render import run

        run(Path(a.out), frames=a.frames)
    elif a.what == "watermark":
        from companion.bench.watermark_bench import run as run_watermark

        run_watermark(Path(a.out), Path(a.data))
    elif a.what == "serve":
        from companion.bench.serve import run as run_serve

        run_serve(Path(a.out))
    elif a.what == "latency":
        from companion.bench.latency import run as run_latency

        run_latency(Path(a.out), turns=a.turns, llm_spec=a.llm)
    elif a.what == "llm":
        from companion.bench.replies import compare

        for r in compare(Path(a.out), Path("docs")):
            print(r["model"], r.get("share", r.get("error")))
    elif a.what == "consent":
        from companion.bench.consent_bench import run as run_consent

        run_consent(Path(a.out), Path(a.data))
    elif a.what == "browser":
        from companion.bench.browser import run as run_browser

        r = run_browser(Path(a.out), Path(a.data), turns=a.turns if a.turns != 20 else 6,
                        serve_args=["--llm", a.llm])
        print(json.dumps({k: v for k, v in r.items() if k != "transcripts"}, indent=1))
    elif a.what == "replies":
        from companion.bench.replies import run as run_replies

        r = run_replies(a.llm, Path(a.out), Path("docs"))
        print(f"{r['model']}: {r['checks_passed']}/{r['checks_total']} checks ({r['share']:.0%}),"
              f" {r['replies_all_passed']}/{r['replies']} replies clean, "
              f"{r['seconds_per_reply']} s per reply; by check: {r['by_check']}")
    elif a.what == "soak":
        from companion.bench.soak import run as run_soak

        r = run_soak(Path(a.out), Path(a.data), sessions=a.sessions, minutes=a.minutes,
                     llm=a.llm)
        print(json.dumps({k: v for k, v in r.items() if k != "rss_over_time"}, indent=1))
    elif a.what == "safety":
        from companion.bench.safety_bench import run as run_safety

        run_safety(Path(a.out))
    elif a.what == "mouth":
        from companion.bench.mouth import AVATARS
        from companion.bench.mouth import run as run_mouth

        run_mouth(Path(a.out), Path(a.data),
                  tuple(a.avatars.split(",")) if a.avatars else AVATARS)
    elif a.what == "reenact":
        from companion.bench.reenact_bench import run as run_reenact

        run_reenact(Path(a.out))
    elif a.what == "camera":
        from companion.bench.camera_bench import run as run_camera

        print(json.dumps(run_camera(Path(a.out), serve_args=["--llm", a.llm]), indent=1))
    elif a.what == "aac":
        from companion.bench.aac_bench import run as run_aac

        run_aac(Path(a.out))
    elif a.what == "quality":
        from companion.bench.lipsync import run as run_quality

        run_quality(Path(a.out), Path(a.data))
