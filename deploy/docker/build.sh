#!/usr/bin/env bash
# Build every image (or the ones named) from deploy/docker/Dockerfile with the arguments in images.env.
#   deploy/docker/build.sh                       # all six, tagged guanhuai/<image>:<git short sha>
#   REGISTRY=registry.example.cn/guanhuai TAG=1.4.0 deploy/docker/build.sh relief
set -euo pipefail
cd "$(dirname "$0")/../.."
prefix="${REGISTRY:-guanhuai}"
tag="${TAG:-$(git rev-parse --short HEAD 2>/dev/null || echo dev)}"
grep -v '^#' deploy/docker/images.env | while read -r image package source app port; do
  [ -z "$image" ] && continue
  if [ "$#" -gt 0 ] && [[ ! " $* " =~ " $image " ]]; then continue; fi
  echo "==> $prefix/$image:$tag"
  docker build -f deploy/docker/Dockerfile \
    --build-arg PACKAGE="$package" --build-arg SOURCE_DIR="$source" \
    --build-arg APP="$app" --build-arg PORT="$port" \
    -t "$prefix/$image:$tag" .
done
