#!/bin/sh
# Stand-in for your deploy: it gets the commit id of the push as $1 and the repository as
# $DEPLOY_REPOSITORY. Replace the body with your own steps (fetch, build, restart...). Whatever
# it prints is recorded with the rule run and sent to Slack; a non-zero exit is a failed deploy.
set -eu
commit="${1:-}"
case "$commit" in
  "" | *[!0-9a-f]*)
    echo "not a commit id: '$commit'" >&2
    exit 2
    ;;
esac
echo "deploying ${DEPLOY_REPOSITORY:-the repository} at $commit"
# git -C /srv/app fetch origin && git -C /srv/app checkout --detach "$commit" && ...
echo "done"
