#!/usr/bin/env bash
# Serving endpoints from Kubernetes over real HTTP, as an operator feeds
# them: `kubectl get … -o yaml | mlgraph import kube -`. A KServe
# InferenceService becomes a service with its policy; its manifest, exported
# and piped back in, changes nothing; an edited target is a new version.
#
# Usage: end2end/kube/roundtrip.sh BASE_URL ADMIN_TOKEN MLGRAPH_BINARY
set -euo pipefail
base=$1
admin=$2
mlgraph=$(realpath "$3")
fail() { echo "kube import: $*" >&2; exit 1; }
json() { python3 -c "import json,sys; v=json.load(sys.stdin); print($1)"; }
import() { "$mlgraph" import kube - --server "$base" --token "$admin"; }
get() { curl -fsS "$base$1" -H "Authorization: Bearer $admin"; }

out=$(import <<'YAML'
apiVersion: v1
kind: List
items:
- apiVersion: serving.kserve.io/v1beta1
  kind: InferenceService
  metadata:
    name: ranker
    namespace: e2e
    annotations:
      autoscaling.knative.dev/target: "6"
      autoscaling.knative.dev/window: 2m
  spec:
    predictor:
      minReplicas: 2
      maxReplicas: 30
      containers:
        - name: kserve-container
          image: registry.example.com/ranker:7
YAML
)
svc=service%3Akubernetes%253A%2F%2Fe2e%3Aranker
[ "$(echo "$out" | json 'v["services_created"]')" = "['service:kubernetes%3A//e2e:ranker']" ] || fail "not created: $out"
policy=$(get "/api/v1/services/$svc/scaling" | json 'v["current"]["policy"]')
echo "$policy" | grep -q "'stable_window_s': 120.0" || fail "the window is not 2 minutes: $policy"

for format in kserve knative; do
  out=$(get "/api/v1/services/$svc/manifest?format=$format" | import)
  [ "$(echo "$out" | json 'v["policies_changed"]')" = "[]" ] || fail "the $format round trip changed the policy: $out"
done
out=$(get "/api/v1/services/$svc/manifest?format=knative" | sed "s|autoscaling.knative.dev/target: '6'|autoscaling.knative.dev/target: '9'|" | import)
[ "$(echo "$out" | json 'len(v["policies_changed"])')" = 1 ] || fail "the edited target made no new version: $out"
version=$(get "/api/v1/services/$svc/scaling" | json 'v["current"]["version"]')
[ "$version" = 2 ] || fail "the policy is at version $version, not 2"

# A resource with a bad value is refused by name, and the command fails.
set +e
bad=$(printf 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: bad, namespace: e2e}\nspec: {template: {metadata: {annotations: {autoscaling.knative.dev/class: hpa.autoscaling.knative.dev}}}}\n' | import 2>&1)
code=$?
set -e
[ "$code" != 0 ] || fail "a refused resource did not fail the command: $bad"
echo "$bad" | grep -q "Service e2e/bad: metadata.annotations.autoscaling.knative.dev/class" || fail "the refusal does not name the field: $bad"
echo "kube import: created, round-tripped through both formats, versioned on an edit, refused by name"
