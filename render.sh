#!/usr/bin/env bash
# render.sh: give a video the sound tracks a brain imagines for it, as the 2015 render.sh did.
#
# Writes, in the current folder:
#   <brain>-<video>-deeplearn<SUFFIX>.mkv           the brain's sound (render.py, raw or smooth)
#   <brain>-<video>-granular-deeplearn<SUFFIX>.mkv  its granular render (Csound, 44.1 kHz)
# and with --webm web copies of both (.webm: VP9 + Opus). <brain> is the brain's name
# (brains/shallow.pkl -> shallow), <video> the video's file name. The video stream is copied
# bit for bit, the old sound track (if any) is replaced, the new one is FLAC (lossless).
# Work happens in a temporary folder that is always removed; each output appears under its
# name only when complete.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: render.sh [--brain PATH] [--mode raw|smooth] [--reading ontime|faithful] [--seed N]
                 [--webm] [-q] VIDEO [SUFFIX]

Give VIDEO the sound track a brain predicts from its pictures, plus a granular render of it.
Writes <brain>-<video>-deeplearn<SUFFIX>.mkv and <brain>-<video>-granular-deeplearn<SUFFIX>.mkv
in the current folder (and .webm copies with --webm).

options:
  --brain PATH      brain or checkpoint file (default: brains/spectral.pkl)
  --mode MODE       raw: the original's blocks end to end; smooth: crossfaded edges (default)
  --reading R       granular reading of the sound: ontime (default) or faithful (the original's)
  --seed N          seed of the granular score (default: 0): same seed, same granular sound
  --webm            also write web copies (VP9 + Opus)
  -q, --quiet       warnings and errors only
  -h, --help        show this help

examples:
  ./render.sh clip.mp4                         both MKVs with the default brain
  ./render.sh --brain theanet.py.net.pkl --mode raw clip.mp4 -take2
  ./render.sh --webm "My Holiday (2015).mov"
EOF
}

die() {
    echo "render.sh: error: $*" >&2
    exit 1
}

usage_error() {
    echo "render.sh: error: $*" >&2
    echo "usage: render.sh [--brain PATH] [--mode raw|smooth] [--webm] VIDEO [SUFFIX] (see --help)" >&2
    exit 2
}

# The repository is where this script lives, wherever it is run from.
REPO=$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd)
if [[ -x "$REPO/.venv/bin/python" ]]; then
    PY="$REPO/.venv/bin/python"
elif command -v python3 >/dev/null 2>&1; then
    PY=python3
else
    die "'python3' not found: install it with 'apt-get install -y python3'"
fi

render_args=()
brain_path=""
webm=0
quiet=0
while (($#)); do
    case "$1" in
        --brain | --mode | --reading | --seed)
            (($# >= 2)) || usage_error "$1 needs a value"
            [[ $1 == --brain ]] && brain_path=$2
            render_args+=("$1" "$2")
            shift 2
            ;;
        --brain=*) brain_path=${1#--brain=}; render_args+=("$1"); shift ;;
        --mode=* | --reading=* | --seed=*) render_args+=("$1"); shift ;;
        --webm) webm=1; shift ;;
        -q | --quiet) quiet=1; render_args+=(-q); shift ;;
        -h | --help) usage; exit 0 ;;
        --) shift; break ;;
        -?*) usage_error "unknown option '$1'" ;;
        *) break ;;
    esac
done
(($# >= 1)) || usage_error "no VIDEO given"
(($# <= 2)) || usage_error "too many arguments"
video=$1
suffix=${2-}

say() { ((quiet)) || echo "$*" >&2; }

command -v ffmpeg >/dev/null 2>&1 || die "'ffmpeg' not found: install it with 'apt-get install -y ffmpeg'"
# A real write, not the permission bits (which say nothing for root, a read-only mount or a
# full disk); the reason is the last part of what mktemp or the write said.
if ! reason=$( (probe=$(mktemp ./.render.sh.XXXXXXXX) || exit 1
               trap 'rm -f -- "$probe"' EXIT
               printf x >"$probe" && sync -- "$probe") 2>&1); then
    die "$(pwd): output folder is not writable (${reason##*: })"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/render.sh.XXXXXXXX")
parts=()
cleanup() {
    rm -rf -- "$work"
    local part
    for part in "${parts[@]}"; do rm -f -- "$part"; done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The sound track and its granular score; render.py checks the video and the brain.
"$PY" "$REPO/render.py" "${render_args[@]}" -o "$work/out.wav" --score "$work/grain.sco" \
    -- "$video" || exit 1

# Output names: the brain's name as the package spells it, the video's file name; and the
# grid's time zero in the video's own timestamps (the new sound's slot 0 plays then).
{ read -r brain_name; read -r origin_s; } < <("$PY" -c 'import sys; sys.path.insert(0, sys.argv[1])
from bitmap2pcm.learn import brain
from bitmap2pcm.media import video
from bitmap2pcm.render import stream as render
print(brain.name_of(render.resolve_brain(sys.argv[2] or None)))
print(f"{video.probe(sys.argv[3]).origin_s:.6f}")' "$REPO" "$brain_path" "$video") \
    || die "could not read $video"
[[ $origin_s == -* ]] && back_to_zero=${origin_s#-} || back_to_zero=-$origin_s
video_name=$(basename -- "$video")
raw_mkv="$brain_name-$video_name-deeplearn$suffix.mkv"
granular_mkv="$brain_name-$video_name-granular-deeplearn$suffix.mkv"

# publish DEST COMMAND...: run COMMAND with the temporary file as its last argument, then
# rename the result to DEST (same folder, so the rename is atomic).
publish() {
    local dest=$1 part log
    shift
    part=$(mktemp --suffix=.part "./.${dest//\//_}.XXXXXXXX")
    parts+=("$part")
    log="$work/ffmpeg.log"
    # ffmpeg 5 exits 0 when writing the end of its output fails: its log decides too.
    if ! "$@" "$part" 2>"$log" || grep -q -E '^Error (writing|closing)' "$log"; then
        die "could not write $dest ($(grep -m 1 -E '^Error (writing|closing)' "$log" || tail -n 1 "$log"))"
    fi
    chmod "$(printf '%o' $((0666 & ~$(umask))))" "$part"
    mv -f -- "$part" "$dest"
    say "wrote $dest"
}

# mux AUDIO PART: the video's first picture stream, copied, with AUDIO as its only sound.
# The pictures keep their own timestamps (-copyts; +genpts fills those an MPEG program stream
# leaves out, which Matroska needs), the sound starts at the grid's zero, and both move back
# together so the file starts at zero: picture and sound stay as they were in the source.
mux() {
    ffmpeg -nostdin -hide_banner -loglevel error -fflags +genpts -copyts -i "file:$video" \
        -itsoffset "$origin_s" -i "file:$1" -output_ts_offset "$back_to_zero" \
        -map 0:V:0 -map 1:a:0 -c:v copy -c:a flac -sample_fmt s32 \
        -map_metadata 0 -map_chapters -1 -f matroska -y "file:$2"
}

# webm MKV PART: the web copy of a finished MKV.
webm() {
    ffmpeg -nostdin -hide_banner -loglevel error -i "file:$1" -map 0:v:0 -map 0:a:0 \
        -c:v libvpx-vp9 -crf 33 -b:v 0 -row-mt 1 -deadline good -cpu-used 4 \
        -c:a libopus -b:a 128k -ar 48000 -f webm -y "file:$2"
}

publish "$raw_mkv" mux "$work/out.wav"
if ((webm)); then publish "${raw_mkv%.mkv}.webm" webm "$raw_mkv"; fi

if ! command -v csound >/dev/null 2>&1; then
    die "'csound' not found: install it with 'apt-get install -y csound' ($raw_mkv is done; the granular render is not)"
fi
say "rendering the granular sound with Csound"
if ! (cd -- "$work" && csound -f -o granular.wav "$REPO/granular.csd") >"$work/csound.log" 2>&1; then
    die "csound failed ($(grep -i -m 1 -E 'error|fail' "$work/csound.log" || tail -n 1 "$work/csound.log"))"
fi
publish "$granular_mkv" mux "$work/granular.wav"
if ((webm)); then publish "${granular_mkv%.mkv}.webm" webm "$granular_mkv"; fi
exit 0
