#!/usr/bin/env bash
# examples/kubernetes/run.sh: one sharded fleet audit on Kubernetes. Starts
# the Indexed Job of sslaudit-scan.yaml with one --as-of instant for every
# shard, waits for it, then starts the merge Job of sslaudit-merge.yaml and
# exits with its verdict: 0 the gate passed, 1 it failed (or a shard is
# missing: the merge's log says which). The reports stay on the volume of
# sslaudit-volume.yaml, in /reports/<as-of>/.
#
#   AS_OF=2026-12-07T05:17:00Z examples/kubernetes/run.sh   # default: now
#
# Needs kubectl with the namespace's context, and the config map and secret
# that sslaudit-scan.yaml names.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
as_of=${AS_OF:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}

# A manifest with AS_OF set, created.
start() {
    kubectl set env --local -f "$1" "AS_OF=$as_of" -o yaml | kubectl create -f -
}

# Waits until a Job has completed (returns 0) or failed (returns 1); the
# Jobs' activeDeadlineSeconds bound the wait.
finished() {
    local state
    while :; do
        state=$(kubectl get job "$1" -o jsonpath='{.status.conditions[?(@.status=="True")].type}')
        case " $state " in
            *" Complete "*) return 0 ;;
            *" Failed "*) return 1 ;;
        esac
        sleep 10
    done
}

kubectl apply -f "$here/sslaudit-volume.yaml"
# The Jobs of an earlier run; their reports stay on the volume.
kubectl delete job sslaudit-scan sslaudit-merge --ignore-not-found --wait

echo "sslaudit: scanning as of $as_of"
start "$here/sslaudit-scan.yaml"
if ! finished sslaudit-scan; then
    echo "sslaudit: the scan Job failed; the merge names the shards it lacks" >&2
fi

start "$here/sslaudit-merge.yaml"
status=0
finished sslaudit-merge || status=1
kubectl logs job/sslaudit-merge
exit "$status"
