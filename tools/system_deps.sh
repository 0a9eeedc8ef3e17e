#!/usr/bin/env bash
# The Debian packages the tests need, installed before anything else runs (`make test` and
# `make book` call this first): the real Fashion-MNIST (dataset-fashion-mnist) that the
# chapters train on, and Chromium, the browser of tests/test_browser.py (never `playwright
# install`, which downloads one). As root with apt-get, missing packages are installed;
# otherwise the script stops, before any test runs, with the one command to type.
set -euo pipefail

need=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need+=(dataset-fashion-mnist)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing from Debian: ${need[*]}"
  apt-get install -y -q "${need[@]}" >/dev/null \
    || { apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
  exit 0
fi

echo "The tests need Debian packages that are not installed: ${need[*]}." >&2
if command -v apt-get >/dev/null 2>&1; then
  echo "Install them with:  sudo apt-get install ${need[*]}" >&2
else
  echo "This machine has no apt-get: install ${need[*]} (Debian package names) by its own means." >&2
fi
exit 1
