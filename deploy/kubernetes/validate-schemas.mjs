// Offline checks of rendered Kubernetes manifests (run by validate.sh).
//
//   node validate-schemas.mjs --deps DIR [--deploy NAME] NAME=rendered.json [...]
//
// DIR holds node_modules with kubernetes-models and @kubernetes-models/keda.
// Each rendered.json is a JSON array of the objects `kubectl kustomize`
// printed for the target NAME (base, dev, production, production-hpa,
// production-cluster, shutdown-delay). For every object:
//
//   1. schema: the kubernetes-models class for its apiVersion/kind validates
//      it (`new Deployment(obj).validate()`); an apiVersion/kind without a
//      model fails.
//   2. unknown keys: the models (compiled JSON schemas) accept keys they do
//      not know, so a misspelled `readinesProbe` passes step 1. The object is
//      validated a second time through a Proxy that records which keys the
//      validator looks up: in an object the schema describes, every key it
//      never looked up is unknown. Objects the validator enumerates (maps
//      such as labels) or never looks into (free-form) are not judged.
//
// Then the requirements of the issue are asserted on each target (probes,
// resources, security context, shutdown, PDBs, autoscalers, KEDA trigger,
// dev Redis/MongoDB, ...). The production targets, and every target named by
// --deploy, must also be safe by default (assertGuarded below): reporting reads
// READ_TOKENS_FILE from a Secret, ingest has SITE_IDS, CORS_ORIGINS, RATE_LIMIT
// and TRUST_PROXY. Their values may be the placeholder REPLACE_ME, which the tree
// ships; --deploy NAME refuses it in NAME (the check to run on an overlay before
// applying it). Prints one line per check and, last, `RESULT <passed> <failed>`;
// exits 1 when anything failed.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';

// ---------------------------------------------------------------- arguments
const argv = process.argv.slice(2);
let deps = null;
const targets = [];
const deployTargets = new Set();
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--deps') deps = argv[++i];
  else if (argv[i] === '--deploy') deployTargets.add(argv[++i]);
  else {
    const eq = argv[i].indexOf('=');
    if (eq <= 0) usage();
    targets.push({ name: argv[i].slice(0, eq), file: argv[i].slice(eq + 1) });
  }
}
if (!deps || targets.length === 0) usage();

function usage() {
  console.error('usage: node validate-schemas.mjs --deps DIR [--deploy NAME] NAME=rendered.json ...');
  process.exit(2);
}

const require = createRequire(path.join(path.resolve(deps), 'noop.js'));

// ------------------------------------------------------------------ output
let passed = 0;
let failed = 0;
function check(ok, what, detail) {
  if (ok) {
    passed++;
    console.log(`  ok    ${what}`);
  } else {
    failed++;
    console.log(`  FAIL  ${what}${detail ? `: ${detail}` : ''}`);
  }
  return ok;
}

// ------------------------------------------------------------------ models
const modelCache = new Map();
function modelFor(apiVersion, kind) {
  const key = `${apiVersion} ${kind}`;
  if (modelCache.has(key)) return modelCache.get(key);
  let cls = null;
  if (typeof apiVersion === 'string' && typeof kind === 'string' && /^[a-z0-9.]*\/?v[0-9a-z]+$/.test(apiVersion)) {
    const pkg = apiVersion.startsWith('keda.sh/') ? '@kubernetes-models/keda' : 'kubernetes-models';
    try {
      const mod = require(`${pkg}/${apiVersion}`);
      if (typeof mod[kind] === 'function' && mod[kind].kind === kind) cls = mod[kind];
    } catch {
      cls = null;
    }
  }
  modelCache.set(key, cls);
  return cls;
}

// Runs the model's validate function on a Proxy of `obj` and returns the
// unknown keys as JSON-pointer-like paths.
function unknownKeys(cls, obj) {
  const records = [];
  const proxies = new WeakMap();
  function wrap(value, where) {
    if (value === null || typeof value !== 'object') return value;
    if (proxies.has(value)) return proxies.get(value);
    const rec = { value, where, looked: new Set(), enumerated: false };
    records.push(rec);
    const proxy = new Proxy(value, {
      get(target, key, receiver) {
        const v = Reflect.get(target, key, receiver);
        if (typeof key !== 'string') return v;
        rec.looked.add(key);
        return Object.prototype.hasOwnProperty.call(target, key) ? wrap(v, `${where}/${key}`) : v;
      },
      has(target, key) {
        if (typeof key === 'string') rec.looked.add(key);
        return Reflect.has(target, key);
      },
      ownKeys(target) {
        rec.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  }
  try {
    // setValidateFunc() puts the compiled schema on the prototype; it only
    // reads `this`, so it can run on the proxy (a plain object).
    cls.prototype.validate.call(wrap(obj, ''));
  } catch {
    // schema errors are reported by the plain validation
  }
  const unknown = [];
  for (const rec of records) {
    if (Array.isArray(rec.value) || rec.enumerated || rec.looked.size === 0) continue;
    for (const key of Object.keys(rec.value)) {
      if (!rec.looked.has(key)) unknown.push(`${rec.where}/${key}`);
    }
  }
  return unknown;
}

function validateObject(target, obj) {
  const id = `${target}: ${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
  const cls = modelFor(obj?.apiVersion, obj?.kind);
  if (!check(cls !== null, `${id} has a schema`, `no model for apiVersion ${obj?.apiVersion} kind ${obj?.kind}`)) return;
  let errors = null;
  try {
    new cls(obj).validate();
  } catch (e) {
    errors = Array.isArray(e.errors)
      ? e.errors.map((x) => `${x.instancePath || '/'} ${x.message}`).join('; ')
      : String(e.message ?? e);
  }
  check(errors === null, `${id} validates against the ${obj.apiVersion} ${obj.kind} schema`, errors);
  const unknown = unknownKeys(cls, obj);
  check(unknown.length === 0, `${id} has no unknown keys`, `unknown: ${unknown.join(', ')}`);
}

// --------------------------------------------------------------- helpers
const get = (o, ...keys) => keys.reduce((v, k) => (v === undefined || v === null ? undefined : v[k]), o);
const byKind = (objs, kind) => objs.filter((o) => o?.kind === kind);
const find = (objs, kind, name) => objs.find((o) => o?.kind === kind && o?.metadata?.name === name);

function memBytes(q) {
  const m = /^([0-9.]+)(Ki|Mi|Gi|Ti|k|M|G|T|)$/.exec(String(q ?? ''));
  if (!m) return NaN;
  const unit = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return Number(m[1]) * unit[m[2]];
}

function labelsMatch(selector, labels) {
  const ml = selector?.matchLabels ?? {};
  return Object.keys(ml).length > 0 && Object.entries(ml).every(([k, v]) => labels?.[k] === v);
}

// A probe's or Service's port: a number, or the name of a container port.
function portNumber(container, port) {
  if (typeof port === 'number') return port;
  return (container?.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function envValue(objs, container, name) {
  const direct = (container.env ?? []).find((e) => e.name === name);
  if (direct) return direct.value !== undefined ? direct.value : direct.valueFrom ? { from: direct.valueFrom } : '';
  for (const src of container.envFrom ?? []) {
    const cm = src.configMapRef && find(objs, 'ConfigMap', src.configMapRef.name);
    if (cm?.data && name in cm.data) return cm.data[name];
  }
  return undefined;
}

// Every handler of a container that would exec a command.
function execHandlers(c) {
  const where = [];
  for (const p of ['startupProbe', 'readinessProbe', 'livenessProbe']) if (c[p]?.exec) where.push(p);
  for (const h of ['preStop', 'postStart']) if (c.lifecycle?.[h]?.exec) where.push(`lifecycle.${h}`);
  return where;
}

// ------------------------------------------------------------ assertions
// port: the public one; probePort: where the probes and /metrics are served (ingest and
// reporting have a probe listener of their own; the processor's one port is one).
const PROGRAMS = {
  ingest: { port: 3000, probePort: 3900, secrets: ['REDIS_PASSWORD'], serves: true },
  processor: { port: 5000, probePort: 5000, secrets: ['MONGO_URI', 'REDIS_PASSWORD'], serves: false },
  reporting: { port: 4000, probePort: 4900, secrets: ['MONGO_URI'], serves: true },
};
const SECRET = 'analytics-secrets';

// What each target must contain besides the common parts.
const EXPECT = {
  base: { processorScaler: 'none', secret: 'absent', stores: false, namespace: null },
  dev: { processorScaler: 'none', secret: 'dev', stores: true, namespace: 'analytics-dev' },
  production: { processorScaler: 'keda', secret: 'absent', stores: false, namespace: 'analytics', guarded: true },
  'production-hpa': { processorScaler: 'hpa', secret: 'absent', stores: false, namespace: 'analytics', guarded: true },
  'shutdown-delay': { processorScaler: 'none', secret: 'absent', stores: false, namespace: null, shutdown: 'env' },
  'production-cluster': {
    processorScaler: 'keda', secret: 'absent', stores: false, namespace: 'analytics', guarded: true, cluster: true,
  },
};

// The settings ingest and the processor must agree on (each reads its own environment).
const SHARED = ['QUEUE_KEY', 'QUEUE_SHARDS', 'REDIS_CLUSTER', 'REDIS_HOST', 'REDIS_PORT'];

function assertTarget(t, objs) {
  const exp = EXPECT[t] ?? { processorScaler: 'any', secret: 'any', stores: false, namespace: null };
  const hpas = byKind(objs, 'HorizontalPodAutoscaler');
  const scaled = byKind(objs, 'ScaledObject');
  const configMaps = byKind(objs, 'ConfigMap');
  const config = configMaps.find((c) => c.metadata.name.startsWith('analytics-config'));

  check(config !== undefined, `${t}: ConfigMap analytics-config`);
  if (config) {
    check(config.data?.LOG_FORMAT === 'json', `${t}: LOG_FORMAT=json`, `is ${config.data?.LOG_FORMAT}`);
    check(config.data?.MONGO_WRITE_CONCERN === 'majority', `${t}: MONGO_WRITE_CONCERN=majority`);
    check(config.data?.RETENTION_TTL === 'on', `${t}: RETENTION_TTL=on (MongoDB's TTL indexes)`, `is ${config.data?.RETENTION_TTL}`);
    const bw = Number(config.data?.BATCH_WAIT_MS ?? 1000);
    check(bw >= 10 && bw <= 1000, `${t}: BATCH_WAIT_MS within 10-1000`, `is ${config.data?.BATCH_WAIT_MS}`);
  }

  // No key of the whole rendering is a YAML 1.1 boolean by accident, and no
  // object was left without a namespace in a namespaced overlay.
  if (exp.namespace) {
    const bad = objs.filter((o) => o.kind !== 'Namespace' && o.metadata?.namespace !== exp.namespace);
    check(bad.length === 0, `${t}: every object in namespace ${exp.namespace}`,
      bad.map((o) => `${o.kind}/${o.metadata?.name}`).join(', '));
    check(find(objs, 'Namespace', exp.namespace) !== undefined, `${t}: Namespace ${exp.namespace} is created`);
  }

  for (const [name, prog] of Object.entries(PROGRAMS)) {
    const id = `${t}: ${name}`;
    const d = find(objs, 'Deployment', name);
    if (!check(d !== undefined, `${id} Deployment`)) continue;
    const pod = d.spec?.template?.spec ?? {};
    const c = (pod.containers ?? []).find((x) => x.name === name) ?? (pod.containers ?? [])[0] ?? {};
    const podLabels = d.spec?.template?.metadata?.labels ?? {};
    const ann = d.spec?.template?.metadata?.annotations ?? {};

    check(labelsMatch(d.spec?.selector, podLabels), `${id} selector matches its pod labels`);
    check(String(c.image ?? '').startsWith(`analytics/${name}:`) || String(c.image ?? '').includes(`/analytics/${name}`),
      `${id} image analytics/${name}`, `is ${c.image}`);
    check(portNumber(c, 'http') === prog.port, `${id} container port http is ${prog.port}`);
    check(String(envValue(objs, c, 'PORT')) === String(prog.port), `${id} PORT=${prog.port}`);
    if (prog.probePort !== prog.port) {
      check(portNumber(c, 'probes') === prog.probePort, `${id} container port probes is ${prog.probePort}`);
      check(String(envValue(objs, c, 'PROBE_PORT')) === String(prog.probePort), `${id} PROBE_PORT=${prog.probePort}`);
    }

    for (const [probe, pathWanted] of [['readinessProbe', '/readyz'], ['livenessProbe', '/livez'], ['startupProbe', null]]) {
      const p = c[probe];
      const ok = p?.httpGet && (pathWanted === null || p.httpGet.path === pathWanted)
        && portNumber(c, p.httpGet.port) === prog.probePort;
      check(Boolean(ok), `${id} ${probe}${pathWanted ? ` GET ${pathWanted}` : ''} on port ${prog.probePort}`,
        p ? JSON.stringify(p.httpGet ?? p) : 'missing');
    }
    if (c.startupProbe?.httpGet) {
      check(c.startupProbe.httpGet.path === '/livez', `${id} startupProbe uses /livez (not dependency-aware)`);
    }
    check(execHandlers(c).length === 0, `${id} runs no exec handler (the image has no shell)`,
      execHandlers(c).join(', '));

    const rq = c.resources?.requests ?? {};
    const lm = c.resources?.limits ?? {};
    check(rq.cpu !== undefined && rq.memory !== undefined, `${id} resources.requests cpu and memory`, JSON.stringify(rq));
    check(lm.cpu !== undefined && lm.memory !== undefined, `${id} resources.limits cpu and memory`, JSON.stringify(lm));
    check(memBytes(lm.memory) >= 64 * 1024 ** 2 && memBytes(lm.memory) >= memBytes(rq.memory),
      `${id} memory limit >= 64Mi and >= request`, `${rq.memory} / ${lm.memory}`);

    const psc = pod.securityContext ?? {};
    const csc = c.securityContext ?? {};
    const eff = (k) => (csc[k] !== undefined ? csc[k] : psc[k]);
    check(eff('runAsNonRoot') === true, `${id} runAsNonRoot true`);
    check(eff('runAsUser') === 10001, `${id} runAsUser 10001`, `is ${eff('runAsUser')}`);
    check(csc.readOnlyRootFilesystem === true, `${id} readOnlyRootFilesystem true`);
    check(csc.allowPrivilegeEscalation === false, `${id} allowPrivilegeEscalation false`);
    check((csc.capabilities?.drop ?? []).includes('ALL') && !(csc.capabilities?.add?.length),
      `${id} capabilities drop ALL, add none`);
    check(get(csc, 'seccompProfile', 'type') === 'RuntimeDefault' || (csc.seccompProfile === undefined
      && get(psc, 'seccompProfile', 'type') === 'RuntimeDefault'), `${id} seccompProfile RuntimeDefault`);
    check(pod.enableServiceLinks === false, `${id} enableServiceLinks false (REDIS_PORT=tcp://... would break it)`);

    const grace = pod.terminationGracePeriodSeconds;
    if (prog.serves) {
      const sleep = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
      const delayMs = Number(envValue(objs, c, 'SHUTDOWN_DELAY_MS') ?? 0);
      const delay = sleep + delayMs / 1000;
      check(sleep > 0 || delayMs > 0, `${id} shutdown delay: preStop sleep or SHUTDOWN_DELAY_MS`,
        `sleep ${sleep}, SHUTDOWN_DELAY_MS ${delayMs}`);
      if (exp.shutdown === 'env') {
        check(sleep === 0 && delayMs > 0, `${id} uses SHUTDOWN_DELAY_MS instead of the sleep handler`);
      } else {
        check(sleep > 0, `${id} preStop sleep handler`);
      }
      check(Number.isInteger(grace) && grace >= delay + 10, `${id} terminationGracePeriodSeconds >= delay + 10`,
        `grace ${grace}, delay ${delay}`);
    } else {
      check(Number.isInteger(grace) && grace >= 15, `${id} terminationGracePeriodSeconds >= 15 (drain <= 10 s)`,
        `is ${grace}`);
    }

    check(ann['prometheus.io/scrape'] === 'true', `${id} annotation prometheus.io/scrape "true"`);
    check(ann['prometheus.io/port'] === String(prog.probePort), `${id} annotation prometheus.io/port "${prog.probePort}"`);
    check(ann['prometheus.io/path'] === '/metrics', `${id} annotation prometheus.io/path /metrics`);

    for (const src of c.envFrom ?? []) {
      if (src.configMapRef) {
        check(find(objs, 'ConfigMap', src.configMapRef.name) !== undefined,
          `${id} envFrom ConfigMap ${src.configMapRef.name} is rendered`);
      }
    }
    for (const key of prog.secrets) {
      const e = (c.env ?? []).find((x) => x.name === key);
      const ref = e?.valueFrom?.secretKeyRef;
      check(ref?.name === SECRET && ref?.key === key, `${id} ${key} from Secret ${SECRET}`);
    }
    check(!(c.env ?? []).some((e) => /PASSWORD|URI/.test(e.name) && e.value !== undefined),
      `${id} no secret as a plain env value`);

    const pdbs = byKind(objs, 'PodDisruptionBudget').filter((p) => labelsMatch(p.spec?.selector, podLabels));
    check(pdbs.length === 1, `${id} exactly one PodDisruptionBudget selects its pods`, `found ${pdbs.length}`);

    const svc = byKind(objs, 'Service').find((s) => s.metadata.name === name);
    if (name !== 'processor' || svc) {
      const sp = svc?.spec?.ports?.[0];
      check(svc !== undefined && Object.entries(svc.spec?.selector ?? {}).every(([k, v]) => podLabels[k] === v)
        && sp?.port === prog.port && portNumber(c, sp?.targetPort) === prog.port,
      `${id} Service on port ${prog.port} selects its pods`);
    }

    const hpaFor = hpas.filter((h) => h.spec?.scaleTargetRef?.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
    const soFor = scaled.filter((s) => (s.spec?.scaleTargetRef?.kind ?? 'Deployment') === 'Deployment'
      && s.spec?.scaleTargetRef?.name === name);
    check(hpaFor.length + soFor.length <= 1, `${id} at most one autoscaler (never KEDA and an HPA at once)`,
      `HPAs ${hpaFor.length}, ScaledObjects ${soFor.length}`);
    if (hpaFor.length + soFor.length === 1) {
      check(d.spec?.replicas === undefined, `${id} has no spec.replicas (its autoscaler owns the count)`);
    }
    if (name !== 'processor') {
      const h = hpaFor[0];
      check(h?.apiVersion === 'autoscaling/v2'
        && (h.spec?.metrics ?? []).some((m) => m.type === 'Resource' && m.resource?.name === 'cpu'),
      `${id} HorizontalPodAutoscaler autoscaling/v2 on CPU`);
      if (h) check(h.spec.minReplicas >= 1 && h.spec.maxReplicas >= h.spec.minReplicas, `${id} HPA min <= max`);
    }
  }

  // The queue: ingest and the processor see the same one, and the programs' own start-up
  // checks would accept it (common/qshard.c qshard_check(), qshard_check_cluster()).
  const ingC = (find(objs, 'Deployment', 'ingest')?.spec?.template?.spec?.containers ?? []).find((x) => x.name === 'ingest');
  const procC = (find(objs, 'Deployment', 'processor')?.spec?.template?.spec?.containers ?? [])
    .find((x) => x.name === 'processor');
  if (ingC && procC) {
    for (const k of SHARED) {
      const a = envValue(objs, ingC, k);
      const b = envValue(objs, procC, k);
      check(JSON.stringify(a) === JSON.stringify(b), `${t}: ingest and processor see the same ${k}`,
        `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    }
  }
  const queueKey = String(config?.data?.QUEUE_KEY ?? 'events');
  const shardsRaw = config?.data?.QUEUE_SHARDS ?? '1';
  const shards = /^[1-9][0-9]*$/.test(shardsRaw) ? Number(shardsRaw) : NaN;
  const redisCluster = config?.data?.REDIS_CLUSTER ?? '';
  check(shards >= 1 && shards <= 256, `${t}: QUEUE_SHARDS is 1-256`, `is ${JSON.stringify(shardsRaw)}`);
  check(!(shards > 1 && /[{}]/.test(queueKey)), `${t}: QUEUE_KEY has no '{' or '}' with QUEUE_SHARDS > 1`,
    `QUEUE_KEY ${queueKey}, QUEUE_SHARDS ${shardsRaw}`);
  if (redisCluster !== '') {
    const open = queueKey.indexOf('{');
    const close = open < 0 ? -1 : queueKey.indexOf('}', open + 1);
    check(shards > 1 || close > open + 1,
      `${t}: on a Redis Cluster QUEUE_SHARDS > 1, or a QUEUE_KEY with a hash tag`,
      `QUEUE_KEY ${queueKey}, QUEUE_SHARDS ${shardsRaw}`);
  }
  if (exp.cluster) {
    check(redisCluster !== '', `${t}: REDIS_CLUSTER is set (the seed nodes)`);
    check(shards > 1, `${t}: QUEUE_SHARDS > 1 (the queue spread over the masters)`, `is ${shardsRaw}`);
    const wr = config?.data?.REDIS_WAIT_REPLICAS;
    check(/^[1-9][0-9]*$/.test(wr ?? '') && Number(wr) <= 64,
      `${t}: REDIS_WAIT_REPLICAS >= 1 (a failover loses no event answered 202)`, `is ${JSON.stringify(wr)}`);
  }

  // processor autoscaling: exactly what the target promises
  const pHpa = hpas.filter((h) => h.spec?.scaleTargetRef?.name === 'processor');
  const pSo = scaled.filter((s) => s.spec?.scaleTargetRef?.name === 'processor');
  const want = exp.processorScaler;
  if (want !== 'any') {
    check((want === 'keda') === (pSo.length === 1) && (want === 'hpa') === (pHpa.length === 1),
      `${t}: processor autoscaler is ${want}`, `HPAs ${pHpa.length}, ScaledObjects ${pSo.length}`);
  }
  for (const so of pSo) {
    const triggers = so.spec?.triggers ?? [];
    const redisTrig = triggers.filter((x) => x.type === 'redis');
    const promTrig = triggers.filter((x) => x.type === 'prometheus');
    check(redisTrig.length + promTrig.length > 0,
      `${t}: ScaledObject has a queue trigger (redis list, or prometheus on analytics_queue_depth)`,
      triggers.map((x) => x.type).join(', '));
    const d = find(objs, 'Deployment', 'processor');
    const c = (d?.spec?.template?.spec?.containers ?? []).find((x) => x.name === so.spec?.scaleTargetRef?.envSourceContainerName);
    check(c !== undefined, `${t}: ScaledObject envSourceContainerName names the processor container`);
    for (const trig of redisTrig) {
      const md = trig.metadata ?? {};
      // Trigger metadata is a free map in the CRD schema: catch misspellings
      // against the parameters of KEDA's redis (lists) scaler.
      const REDIS_KEYS = ['address', 'addressFromEnv', 'host', 'hostFromEnv', 'port', 'portFromEnv',
        'usernameFromEnv', 'passwordFromEnv', 'listName', 'listLength', 'activationListLength',
        'enableTLS', 'unsafeSsl', 'databaseIndex'];
      const strange = Object.keys(md).filter((k) => !REDIS_KEYS.includes(k));
      check(strange.length === 0, `${t}: ScaledObject redis trigger has only known metadata keys`, strange.join(', '));
      check(typeof md.listLength === 'string' && /^[1-9][0-9]*$/.test(md.listLength),
        `${t}: ScaledObject listLength is a string of digits`, `${typeof md.listLength} ${JSON.stringify(md.listLength)}`);
      check(md.listName === 'events' && md.listName === config?.data?.QUEUE_KEY,
        `${t}: ScaledObject listName "events" equals QUEUE_KEY`, `${md.listName} vs ${config?.data?.QUEUE_KEY}`);
      // The list trigger reads QUEUE_KEY on one server: with shards nothing is pushed
      // there, and on a cluster it is not the server.
      check(shards === 1 && redisCluster === '', `${t}: ScaledObject redis list trigger only with one shard on one server`,
        `QUEUE_SHARDS ${shardsRaw}, REDIS_CLUSTER ${JSON.stringify(redisCluster)}`);
      const fromEnv = ['addressFromEnv', 'hostFromEnv', 'portFromEnv', 'passwordFromEnv'].filter((k) => md[k]);
      check(md.address === undefined && md.host === undefined && fromEnv.includes('passwordFromEnv')
        && (fromEnv.includes('addressFromEnv') || (fromEnv.includes('hostFromEnv') && fromEnv.includes('portFromEnv'))),
      `${t}: ScaledObject reads the Redis address and password from env`, fromEnv.join(', '));
      if (c) {
        for (const k of fromEnv) {
          check(envValue(objs, c, md[k]) !== undefined, `${t}: ScaledObject ${k} ${md[k]} is set in the processor`);
        }
      }
    }
    for (const trig of promTrig) {
      const md = trig.metadata ?? {};
      // KEDA's prometheus scaler's parameters.
      const PROM_KEYS = ['serverAddress', 'query', 'threshold', 'activationThreshold', 'namespace',
        'customHeaders', 'ignoreNullValues', 'queryParameters', 'unsafeSsl', 'timeout'];
      const strange = Object.keys(md).filter((k) => !PROM_KEYS.includes(k));
      check(strange.length === 0, `${t}: ScaledObject prometheus trigger has only known metadata keys`, strange.join(', '));
      check(typeof md.serverAddress === 'string' && md.serverAddress !== '', `${t}: ScaledObject prometheus serverAddress`);
      check(typeof md.threshold === 'string' && /^[1-9][0-9]*$/.test(md.threshold),
        `${t}: ScaledObject threshold is a string of digits`, `${typeof md.threshold} ${JSON.stringify(md.threshold)}`);
      // Every processor reports every shard: one value per shard (max by shard) first, or
      // the sum would grow with the replicas it sets.
      check(/max by \(shard\) \(analytics_queue_depth\b/.test(md.query ?? ''),
        `${t}: ScaledObject query takes analytics_queue_depth max by (shard)`, JSON.stringify(md.query));
      check(md.ignoreNullValues === 'false', `${t}: ScaledObject ignoreNullValues "false" (no series: the fallback)`);
    }
    check(so.spec.minReplicaCount >= 1 && so.spec.maxReplicaCount >= so.spec.minReplicaCount,
      `${t}: ScaledObject 1 <= minReplicaCount <= maxReplicaCount`);
  }

  // Secrets
  const secrets = byKind(objs, 'Secret');
  if (exp.secret === 'absent') {
    check(secrets.length === 0, `${t}: contains no Secret (created by the user)`, secrets.map((s) => s.metadata.name).join(', '));
  } else if (exp.secret === 'dev') {
    const s = find(objs, 'Secret', SECRET);
    const val = (k) => (s?.stringData?.[k] ?? (s?.data?.[k] !== undefined ? Buffer.from(s.data[k], 'base64').toString() : undefined));
    check(val('MONGO_URI') === 'mongodb://mongodb:27017/analytics', `${t}: Secret ${SECRET} MONGO_URI=mongodb://mongodb:27017/analytics`,
      `is ${val('MONGO_URI')}`);
    check(typeof val('REDIS_PASSWORD') === 'string', `${t}: Secret ${SECRET} has REDIS_PASSWORD`);
  }

  // dev: Redis and MongoDB so that the whole system comes up
  if (exp.stores) {
    const redis = find(objs, 'StatefulSet', 'redis');
    const rc = redis?.spec?.template?.spec?.containers?.[0];
    const args = [...(rc?.command ?? []), ...(rc?.args ?? [])].join(' ');
    check(redis !== undefined && /redis/.test(rc?.image ?? ''), `${t}: Redis StatefulSet`);
    check(/--appendonly yes\b/.test(args), `${t}: Redis runs with --appendonly yes`, args);
    check(/--maxmemory-policy noeviction\b/.test(args), `${t}: Redis runs with --maxmemory-policy noeviction`);
    check(redis?.spec?.replicas === 1, `${t}: Redis is a single node`);
    const rsvc = find(objs, 'Service', 'redis');
    check(rsvc !== undefined && rsvc.spec.ports?.some((p) => p.port === Number(config?.data?.REDIS_PORT))
      && config?.data?.REDIS_HOST === 'redis', `${t}: Service redis on REDIS_PORT, REDIS_HOST=redis`);
    const mongo = find(objs, 'StatefulSet', 'mongodb');
    const mc = mongo?.spec?.template?.spec?.containers?.[0];
    check(mongo !== undefined && mc?.image === 'mongo:7', `${t}: MongoDB StatefulSet with image mongo:7`, mc?.image);
    check(find(objs, 'Service', 'mongodb')?.spec?.ports?.some((p) => p.port === 27017), `${t}: Service mongodb on 27017`);
    for (const ss of [redis, mongo].filter(Boolean)) {
      check(find(objs, 'Service', ss.spec.serviceName) !== undefined, `${t}: StatefulSet ${ss.metadata.name} serviceName exists`);
      check((ss.spec.volumeClaimTemplates ?? []).length > 0, `${t}: StatefulSet ${ss.metadata.name} keeps its data on a volume`);
    }
  }

  // Namespaces labelled restricted: every pod template must meet the
  // restricted Pod Security Standard (the parts that can be seen offline).
  const restricted = byKind(objs, 'Namespace').some((n) => n.metadata?.labels?.['pod-security.kubernetes.io/enforce'] === 'restricted');
  if (restricted) {
    for (const w of objs.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))) {
      const pod = w.spec.template.spec;
      const bad = [];
      const psc = pod.securityContext ?? {};
      for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
        const csc = c.securityContext ?? {};
        if (csc.allowPrivilegeEscalation !== false) bad.push(`${c.name}: allowPrivilegeEscalation`);
        if ((csc.runAsNonRoot ?? psc.runAsNonRoot) !== true) bad.push(`${c.name}: runAsNonRoot`);
        if ((csc.runAsUser ?? psc.runAsUser) === 0) bad.push(`${c.name}: runAsUser 0`);
        if (!(csc.capabilities?.drop ?? []).includes('ALL')) bad.push(`${c.name}: drop ALL`);
        if ((csc.capabilities?.add ?? []).some((x) => x !== 'NET_BIND_SERVICE')) bad.push(`${c.name}: capabilities.add`);
        const sc = csc.seccompProfile?.type ?? psc.seccompProfile?.type;
        if (sc !== 'RuntimeDefault' && sc !== 'Localhost') bad.push(`${c.name}: seccompProfile`);
        if (csc.privileged) bad.push(`${c.name}: privileged`);
      }
      for (const v of pod.volumes ?? []) {
        const type = Object.keys(v).find((k) => k !== 'name');
        if (!['configMap', 'csi', 'downwardAPI', 'emptyDir', 'ephemeral', 'persistentVolumeClaim', 'projected', 'secret'].includes(type)) {
          bad.push(`volume ${v.name}: ${type}`);
        }
      }
      if (pod.hostNetwork || pod.hostPID || pod.hostIPC) bad.push('host namespaces');
      check(bad.length === 0, `${t}: ${w.kind}/${w.metadata.name} meets the restricted Pod Security Standard`, bad.join(', '));
    }
  }
}

// ------------------------------------------------------- safe by default
// What a production rendering must set so that neither program is open to
// everyone: reporting's bearer tokens from a Secret, ingest's sites, origins,
// rate limit and proxy count. PLACEHOLDER is what the tree ships for the values
// only the operator knows; it passes here, with a note, unless the target is a
// --deploy target, where each one left is a failure. The programs refuse the
// placeholder too (CORS_ORIGINS, RATE_LIMIT and TRUST_PROXY stop ingest at
// start; SITE_IDS=REPLACE_ME accepts no real site), so an overlay applied
// unfilled fails closed.
const PLACEHOLDER = 'REPLACE_ME';
const TRACKER_BATCH = 20; // the browser tracker's largest batch (docs/tracker.md)

function assertGuarded(t, objs, deploy) {
  const placeholders = [];
  const container = (name) => {
    const d = find(objs, 'Deployment', name);
    const pod = d?.spec?.template?.spec ?? {};
    return { pod, c: (pod.containers ?? []).find((x) => x.name === name) };
  };
  const placeholder = (v) => typeof v === 'string' && v.includes(PLACEHOLDER);
  // A variable of the container, noted when it is still the placeholder.
  const setting = (c, name) => {
    const v = c ? envValue(objs, c, name) : undefined;
    if (placeholder(v)) placeholders.push(name);
    return v;
  };
  const intIn = (v, lo, hi) => typeof v === 'string' && /^(0|[1-9][0-9]*)$/.test(v) && Number(v) >= lo && Number(v) <= hi;

  const ing = container('ingest').c;
  const sites = setting(ing, 'SITE_IDS');
  check(typeof sites === 'string' && sites.trim() !== '' && (placeholder(sites)
    || sites.split(',').every((x) => x.trim() !== '' && Buffer.byteLength(x.trim()) <= 256)),
  `${t}: ingest SITE_IDS lists the sites to accept`, `is ${JSON.stringify(sites)}`);
  const origins = setting(ing, 'CORS_ORIGINS');
  check(typeof origins === 'string' && (placeholder(origins) || (origins.trim() !== ''
    && origins.split(',').every((x) => /^https?:\/\/[^/\s*,]+$/.test(x.trim())))),
  `${t}: ingest CORS_ORIGINS lists origins (scheme://host[:port]), not "*"`, `is ${JSON.stringify(origins)}`);
  const rate = setting(ing, 'RATE_LIMIT');
  check(placeholder(rate) || intIn(rate, 1, 1000000), `${t}: ingest RATE_LIMIT is 1-1000000 (on)`,
    `is ${JSON.stringify(rate)}`);
  const burst = setting(ing, 'RATE_BURST');
  if (intIn(rate, 1, 1000000) || intIn(burst, 1, 1000000)) {
    const eff = intIn(burst, 1, 1000000) ? Number(burst) : Number(rate);
    check(eff >= TRACKER_BATCH, `${t}: ingest RATE_BURST (or RATE_LIMIT) >= ${TRACKER_BATCH}, the tracker's largest batch`,
      `RATE_BURST ${JSON.stringify(burst)}, RATE_LIMIT ${JSON.stringify(rate)}`);
  }
  const trust = setting(ing, 'TRUST_PROXY');
  check(placeholder(trust) || intIn(trust, 0, 16), `${t}: ingest TRUST_PROXY is set (0-16, the proxies in front)`,
    `is ${JSON.stringify(trust)}`);

  const { pod, c: rep } = container('reporting');
  const file = setting(rep, 'READ_TOKENS_FILE');
  const mount = (rep?.volumeMounts ?? []).find((m) => typeof file === 'string' && file.startsWith(`${m.mountPath.replace(/\/$/, '')}/`));
  const vol = (pod.volumes ?? []).find((v) => v.name === mount?.name);
  check(typeof file === 'string' && vol?.secret?.secretName !== undefined && vol.secret.optional !== true,
    `${t}: reporting READ_TOKENS_FILE is a file of a Secret volume (not optional: no Secret, no pod)`,
    `READ_TOKENS_FILE ${JSON.stringify(file)}, volume ${JSON.stringify(vol ?? null)}`);
  check(rep !== undefined && envValue(objs, rep, 'READ_TOKENS') === undefined,
    `${t}: reporting has no READ_TOKENS (the tokens come from the Secret)`);

  // Every other value of the rendering that still holds the placeholder.
  for (const cm of byKind(objs, 'ConfigMap')) {
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (placeholder(v) && !placeholders.includes(k)) placeholders.push(k);
    }
  }
  for (const so of byKind(objs, 'ScaledObject')) {
    for (const trig of so.spec?.triggers ?? []) {
      for (const [k, v] of Object.entries(trig.metadata ?? {})) {
        const name = `ScaledObject/${so.metadata?.name} ${trig.type} ${k}`;
        if (placeholder(v) && !placeholders.includes(name)) placeholders.push(name);
      }
    }
  }
  if (deploy) {
    for (const name of placeholders) {
      check(false, `${t}: ${name} is filled in`, `still ${PLACEHOLDER}: see deploy/kubernetes/README.md, Production`);
    }
  } else if (placeholders.length > 0) {
    console.log(`  note  ${t}: placeholders to fill in before deploying (validate.sh --deploy): ${placeholders.join(', ')}`);
  }
}

// -------------------------------------------------------------------- main
for (const { name, file } of targets) {
  console.log(`== ${name}: schemas and unknown keys`);
  let objs;
  try {
    objs = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    check(false, `${name}: ${file} is readable JSON`, e.message);
    continue;
  }
  objs = (Array.isArray(objs) ? objs : [objs]).filter((o) => o !== null);
  for (const obj of objs) validateObject(name, obj);
  console.log(`== ${name}: requirements`);
  assertTarget(name, objs);
  if (EXPECT[name]?.guarded || deployTargets.has(name)) {
    console.log(`== ${name}: safe by default${deployTargets.has(name) ? ', placeholders filled in' : ''}`);
    assertGuarded(name, objs, deployTargets.has(name));
  }
}
console.log(`RESULT ${passed} ${failed}`);
process.exit(failed === 0 ? 0 : 1);
