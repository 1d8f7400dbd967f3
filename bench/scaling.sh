#!/usr/bin/env bash
# Scaling model for `wa1kpcap analyze -f none`: measures the reader alone
# (--bench-discard), one worker (-t 1) and -t 0 (the default), 2, 4, 8 for each
# reader, prints the model's inputs, its check against the measured -t N and its
# predictions for 4, 8 and 16 cores. The model and the options are in scaling.py.
#
#   bench/scaling.sh [--reps 3] [--readers "mmap libpcap"] [--threads "1 0 2 4 8"] [--extra "ARGS"] [--json FILE] CAPTURE
#
# Environment: WKP_BIN (default ../build-rel/wa1kpcap, else ../build/wa1kpcap).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [[ -n ${WKP_BIN-} ]]; then
    wkp_bin=$WKP_BIN
elif [[ -x $here/../build-rel/wa1kpcap ]]; then
    wkp_bin=$here/../build-rel/wa1kpcap
else
    wkp_bin=$here/../build/wa1kpcap
fi
[[ -x $wkp_bin ]] || { echo "scaling.sh: $wkp_bin not found (set WKP_BIN)" >&2; exit 2; }
opts=()
while [[ $# -gt 1 ]]; do
    opts+=("$1" "$2")
    shift 2
done
[[ $# -eq 1 ]] || { sed -n '7p' "${BASH_SOURCE[0]}" | sed 's/^#  */usage: /' >&2; exit 2; }
exec /usr/bin/python3 "$here/scaling.py" "${opts[@]}" "$wkp_bin" "$1"
