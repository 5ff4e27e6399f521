#!/usr/bin/env bash
# clang-tidy with the checked-in .clang-tidy over the sources of src/ and bench/ (tests aside), in parallel;
# any finding fails. BUILD_DIR holds compile_commands.json.
set -euo pipefail
build_dir=${1:?usage: lint.sh BUILD_DIR}
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'src/*.cc' 'bench/*.cc' | grep -v '_test\.cc$')
echo "lint: clang-tidy over ${#files[@]} files"
# GCC 12 says -std=c++23 where clang 14 says -std=c++2b.
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 1 clang-tidy -p "$build_dir" --extra-arg=-std=c++2b --quiet \
  > "$build_dir/lint.log" 2>&1 || { grep -E "(warning|error):" -A3 "$build_dir/lint.log"; exit 1; }
echo "lint: clean"
