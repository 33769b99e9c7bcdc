"""The child side of bench/child.ts's protocol, shared by bench/torch_bench.py and bench/torch_fit.py:
one JSON request per line on stdin, one JSON reply per line on stdout (nothing else is printed
there), the "ready" line first. A failing request is answered with {"ok": false, "error"} and the
traceback goes to stderr; the loop keeps serving (one bad workload must not end the run)."""

import json
import sys
import traceback


def reply(msg):
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def serve(ready, handle):
    """Sends `ready`, then answers each request with handle(msg) (a dict: the reply without "ok")
    until {"cmd": "quit"} or the end of stdin (the parent gone)."""
    reply({"ok": True, "ready": True, **ready})
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        if not line.strip():
            continue
        try:
            msg = json.loads(line)
            if msg["cmd"] == "quit":
                break
            reply({"ok": True, **handle(msg)})
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            reply({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
