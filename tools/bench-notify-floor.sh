#!/usr/bin/env bash
# bench-notify-floor.sh [PROBES] — the measuring kit's floor under item 9's first-notification
# figure: tools/bench-first-notify.sh's probe (the kit's am-load.py and webhook-sink.py) with
# tools/notify-floor.c in place of alertd + notifyd, a relay that only reads each POST, writes
# the webhook to the sink and answers. Prints {"med","min","max"} in ms, as
# bench-first-notify.sh does, so the two can alternate:
#   for i in 1 2 3; do tools/bench-notify-floor.sh 80; tools/bench-first-notify.sh build/bin 80; done
exec bash "$(dirname "${BASH_SOURCE[0]}")/bench-first-notify.sh" --floor "${1:-60}"
