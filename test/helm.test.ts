// The Helm chart with the real tools: helm lint and template, every rendered
// manifest through kubeconform against the Kubernetes and Prometheus Operator
// schemas, the rules and dashboards equal to alerts/ and dashboards/, bad values
// refused with values.schema.json's message, the pod relabelling run by a real
// Prometheus, and the Dockerfile the chart's image comes from through hadolint.
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RULES_FILE } from '../src/alerts/generate.js';
import { loadWebConfig } from '../src/config/webconfig.js';
import { loadHttpConfig } from '../src/config/config.js';
import { startServer, type TestServer } from './helpers/http.js';
import { freePort, startProc, type Proc } from './helpers/procs.js';

const ROOT = join(import.meta.dirname, '..');
const CHART = join(ROOT, 'helm/pprof-exporter');
const DASHBOARDS = join(ROOT, 'dashboards');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string> };
const tmp = mkdtempSync(join(tmpdir(), 'pprof-helm-'));

interface Manifest { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [k: string]: any }

function run(bin: string, args: string[], input?: string) {
  const r = spawnSync(bin, args, { encoding: 'utf8', input, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const helm = (...args: string[]) => run(inject('helm'), args);

// What a cluster with the Prometheus Operator serves: `helm install` asks the
// API server; `helm template` is told (the Operator objects default to "auto").
const OPERATOR_APIS = ['monitoring.coreos.com/v1/ServiceMonitor', 'monitoring.coreos.com/v1/PrometheusRule', 'monitoring.coreos.com/v1alpha1/ScrapeConfig']
  .flatMap((a) => ['--api-versions', a]);

/** `helm template` as release pprof-exporter in monitoring on a cluster with the Operator, every document parsed. */
function render(args: string[] = [], chart = CHART, apis = OPERATOR_APIS): Manifest[] {
  const r = helm('template', 'pprof-exporter', chart, '--namespace', 'monitoring', ...apis, ...args);
  expect(r.stderr.split('\n').filter((l) => l && !/found symbolic link/.test(l))).toEqual([]);
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Manifest | null;
  }).filter((m): m is Manifest => m !== null);
}

function valuesFile(name: string, values: object): string {
  const file = join(tmp, `${name}.yaml`);
  writeFileSync(file, stringify(values));
  return file;
}

const only = (docs: Manifest[], kind: string) => docs.filter((d) => d.kind === kind);
const one = (docs: Manifest[], kind: string, name?: string) => {
  const found = only(docs, kind).filter((d) => name === undefined || d.metadata.name === name);
  expect(found, `${kind} ${name ?? ''}`).toHaveLength(1);
  return found[0]!;
};
const container = (docs: Manifest[]) => one(docs, 'Deployment').spec.template.spec.containers[0];

// Every option on: what a user with auth on both sides, label opt-in and static targets sets.
const ALL = {
  replicaCount: 2,
  commonLabels: { team: 'platform' },
  config: {
    allowed_targets: ['10.0.0.0/8', '*.svc.cluster.local'],
    max_concurrent_probes: 8,
    modules: {
      default: { sources: ['goroutine', 'heap'], timeout: '8s' },
      internal: {
        sources: ['goroutine', 'goroutine_debug2'], timeout: '5s', path_prefix: '/internal', top_signatures: 50,
        http_config: {
          basic_auth: { username: 'pprof', password_file: '/etc/pprof-secrets/password' },
          tls_config: { ca_file: '/etc/pprof-secrets/ca.crt', insecure_skip_verify: false },
          follow_redirects: false,
        },
      },
    },
    global: { scrape_timeout: '9s', max_profile_bytes: '32MiB' },
    targets: [{ name: 'checkout', url: 'http://checkout.shop.svc:6060', timeout: '5s' }],
  },
  webConfig: { config: { basic_auth_users: { prometheus: '$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze' } } },
  prometheus: {
    url: 'http://prometheus-operated.monitoring.svc:9090', timeout: '20s',
    httpConfig: { basic_auth: { username: 'oncall', password_file: '/etc/pprof-secrets/prometheus-password' }, tls_config: { ca_file: '/etc/pprof-secrets/ca.crt' } },
  },
  extraVolumes: [{ name: 'pprof-secrets', secret: { secretName: 'pprof-secrets' } }],
  extraVolumeMounts: [{ name: 'pprof-secrets', mountPath: '/etc/pprof-secrets', readOnly: true }],
  scrapeConfig: {
    labels: { release: 'kube-prometheus-stack' }, optIn: 'label', namespaces: ['shop', 'payments'],
    defaultPort: 8081, module: 'internal',
    basicAuth: { username: { name: 'pprof-exporter-auth', key: 'username' }, password: { name: 'pprof-exporter-auth', key: 'password' } },
  },
  serviceMonitor: {
    labels: { release: 'kube-prometheus-stack' }, scrapeTimeout: '10s',
    basicAuth: { username: { name: 'pprof-exporter-auth', key: 'username' }, password: { name: 'pprof-exporter-auth', key: 'password' } },
  },
  prometheusRule: { labels: { release: 'kube-prometheus-stack' }, grafanaUrl: 'https://grafana.example.org/' },
  dashboards: { annotations: { grafana_folder: 'Go' }, namespace: 'grafana' },
};

describe('Helm chart', () => {
  let allValues: string;
  beforeAll(() => { allValues = valuesFile('all', ALL); });

  it('passes helm lint --strict, with the defaults and with every option on', () => {
    for (const args of [[], ['-f', allValues]]) {
      const r = helm('lint', '--strict', CHART, ...args);
      expect(r.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.status).toBe(0);
    }
  });

  it('installs with default values on a cluster without the Prometheus Operator', () => {
    const kinds = (args: string[], apis: string[] = []) => render(args, CHART, apis).map((d) => d.kind).sort();
    // No Operator CRDs: nothing that needs them, so `helm install` does not fail.
    expect(kinds([])).toEqual(['ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
    // Only the APIs the cluster has; true forces an object, false drops it.
    expect(kinds([], OPERATOR_APIS.slice(0, 2))).toContain('ServiceMonitor');
    expect(kinds([], OPERATOR_APIS.slice(0, 2))).not.toContain('ScrapeConfig');
    expect(kinds(['--set', 'prometheusRule.enabled=true'])).toContain('PrometheusRule');
    expect(kinds(['--set', 'serviceMonitor.enabled=false'], OPERATOR_APIS)).not.toContain('ServiceMonitor');
  });

  it('renders a non-root, read-only Deployment probed on /-/healthy, with its config where --config.file points', () => {
    const docs = render();
    expect(docs.map((d) => d.kind).sort()).toEqual(['ConfigMap', 'ConfigMap', 'ConfigMap', 'Deployment', 'PrometheusRule',
      'ScrapeConfig', 'Service', 'ServiceAccount', 'ServiceMonitor']);
    const pod = one(docs, 'Deployment').spec.template.spec;
    const c = container(docs);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65534 });
    expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(c.resources).toMatchObject({ requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '512Mi' } });
    expect(c.image).toBe(`ghcr.io/pprof-exporter/pprof-exporter:${PKG.version}`);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/-/healthy', port: 'http', scheme: 'HTTP' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/-/ready', port: 'http', scheme: 'HTTP' });
    expect(c.ports).toEqual([{ name: 'http', containerPort: 10066, protocol: 'TCP' }]);
    expect(c.args).toEqual(['--config.file=/etc/pprof-exporter/config/pprof-exporter.yml', '--web.listen-address=:10066', '--log.level=info']);
    expect(c.volumeMounts).toEqual([{ name: 'config', mountPath: '/etc/pprof-exporter/config', readOnly: true }]);
    const cm = one(docs, 'ConfigMap', 'pprof-exporter');
    expect(pod.volumes).toEqual([{ name: 'config', configMap: { name: cm.metadata.name } }]);
    expect(parse(cm.data['pprof-exporter.yml'])).toEqual({ max_concurrent_probes: 16, modules: { default: { sources: ['goroutine', 'heap', 'expvar'], timeout: '10s' } } });
    const svc = one(docs, 'Service');
    expect(svc.spec.ports).toEqual([{ name: 'http', port: 10066, targetPort: 'http', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(one(docs, 'Deployment').spec.selector.matchLabels);
    const sm = one(docs, 'ServiceMonitor');
    expect(sm.spec.selector.matchLabels).toEqual(svc.spec.selector);
    expect(sm.spec.endpoints).toEqual([{ port: 'http', path: '/metrics', scheme: 'http', interval: '30s' }]);
  });

  it('renders every option: config, web config Secret and flag, TCP probes under basic auth, labels', () => {
    const docs = render(['-f', allValues]);
    const c = container(docs);
    expect(parse(one(docs, 'ConfigMap', 'pprof-exporter').data['pprof-exporter.yml'])).toEqual(ALL.config);
    const secret = one(docs, 'Secret');
    expect(parse(secret.stringData['web-config.yml'])).toEqual(ALL.webConfig.config);
    expect(c.args).toContain('--web.config.file=/etc/pprof-exporter/web/web-config.yml');
    expect(c.volumeMounts).toContainEqual({ name: 'web-config', mountPath: '/etc/pprof-exporter/web', readOnly: true });
    expect(c.volumeMounts).toContainEqual(ALL.extraVolumeMounts[0]);
    expect(one(docs, 'Deployment').spec.template.spec.volumes).toContainEqual({ name: 'web-config', secret: { secretName: secret.metadata.name } });
    // The kubelet sends no credentials: an HTTP probe would get 401.
    expect(c.livenessProbe).toMatchObject({ tcpSocket: { port: 'http' } });
    expect(c.livenessProbe.httpGet).toBeUndefined();
    for (const kind of ['ScrapeConfig', 'ServiceMonitor', 'PrometheusRule']) {
      expect(one(docs, kind).metadata.labels).toMatchObject({ release: 'kube-prometheus-stack', team: 'platform' });
    }
    const sc = one(docs, 'ScrapeConfig').spec;
    expect(sc.kubernetesSDConfigs).toEqual([{ role: 'Pod', namespaces: { names: ['shop', 'payments'] }, selectors: [{ role: 'Pod', label: 'pprof-exporter.io/scrape=true' }] }]);
    expect(sc.relabelings[0]).toEqual({ action: 'keep', regex: 'true', sourceLabels: ['__meta_kubernetes_pod_label_pprof_exporter_io_scrape'] });
    expect(sc.basicAuth).toEqual(ALL.scrapeConfig.basicAuth);
    // TLS alone keeps the HTTP probes, over HTTPS.
    const tls = container(render(['--set', 'webConfig.config.tls_server_config.cert_file=/tls/tls.crt', '--set', 'webConfig.config.tls_server_config.key_file=/tls/tls.key']));
    expect(tls.livenessProbe.httpGet).toEqual({ path: '/-/healthy', port: 'http', scheme: 'HTTPS' });
  });

  it('renders exporter and web configs the exporter itself accepts (--config.check, the web config loader)', async () => {
    const cli = join(ROOT, 'dist/cli.js');
    for (const [name, docs] of [['defaults', render()], ['all', render(['-f', allValues])]] as const) {
      const cfg = join(tmp, `rendered-${name}.yml`);
      writeFileSync(cfg, one(docs, 'ConfigMap', 'pprof-exporter').data['pprof-exporter.yml']);
      const r = run(process.execPath, [cli, '--config.check', `--config.file=${cfg}`]);
      expect(r.stderr, name).toBe('');
      expect(r.status).toBe(0);
    }
    const web = join(tmp, 'rendered-web.yml');
    writeFileSync(web, one(render(['-f', allValues]), 'Secret').stringData['web-config.yml']);
    await expect(loadWebConfig(web)).resolves.toMatchObject({ file: web });
  });

  it('prometheus.url points the on-call pages at Prometheus, with an http_config file the exporter accepts', async () => {
    expect(container(render()).args.filter((a: string) => a.startsWith('--prometheus.'))).toEqual([]);
    const docs = render(['-f', allValues]);
    expect(container(docs).args.filter((a: string) => a.startsWith('--prometheus.'))).toEqual([
      '--prometheus.url=http://prometheus-operated.monitoring.svc:9090',
      // The history's resolution is the probes' interval unless set.
      '--prometheus.step=30s',
      '--prometheus.timeout=20s',
      '--prometheus.http-config.file=/etc/pprof-exporter/config/prometheus-http-config.yml',
    ]);
    const text = one(docs, 'ConfigMap', 'pprof-exporter').data['prometheus-http-config.yml'];
    expect(parse(text)).toEqual(ALL.prometheus.httpConfig);
    const file = join(tmp, 'rendered-prometheus-http.yml');
    writeFileSync(file, text);
    await expect(loadHttpConfig(file)).resolves.toMatchObject({
      basicAuth: { username: 'oncall', passwordFile: '/etc/pprof-secrets/prometheus-password' }, tls: { caFile: '/etc/pprof-secrets/ca.crt' },
    });
    const step = container(render(['--set', 'prometheus.url=http://p:9090', '--set', 'prometheus.step=15s']));
    expect(step.args).toContain('--prometheus.step=15s');
    expect(step.args.some((a: string) => a.startsWith('--prometheus.http-config.file'))).toBe(false);
    const bad = helm('template', 'x', CHART, '--set', 'prometheus.url=prometheus:9090');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('/prometheus/url');
  });

  it('renders the PrometheusRule from alerts/pprof-exporter.rules.yml, also from the packaged chart', () => {
    // The chart holds links, not copies.
    expect(lstatSync(join(CHART, 'files/pprof-exporter.rules.yml')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(CHART, 'files/dashboards')).isSymbolicLink()).toBe(true);
    const source = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: unknown[] };
    expect(source.groups.length).toBeGreaterThan(0);
    expect(one(render(), 'PrometheusRule').spec).toEqual({ groups: source.groups });

    const r = helm('package', CHART, '--destination', tmp);
    expect(r.status).toBe(0);
    const tgz = join(tmp, `pprof-exporter-0.1.0.tgz`);
    const packaged = render([], tgz);
    expect(one(packaged, 'PrometheusRule').spec).toEqual({ groups: source.groups });
    expect(only(packaged, 'ConfigMap')).toEqual(only(render(), 'ConfigMap'));
  });

  it('renders one sidecar ConfigMap per dashboards/*.json, equal to the file', () => {
    const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json')).sort();
    expect(files.length).toBeGreaterThan(0);
    const cms = only(render(), 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(cms.map((c) => Object.keys(c.data)).flat().sort()).toEqual(files.map((f) => `pprof-exporter-${f}`));
    for (const cm of cms) {
      const [[key, json]] = Object.entries(cm.data) as [[string, string]];
      expect(JSON.parse(json)).toEqual(JSON.parse(readFileSync(join(DASHBOARDS, key.replace(/^pprof-exporter-/, '')), 'utf8')));
    }
    const all = only(render(['-f', allValues]), 'ConfigMap').filter((c) => c.metadata.labels?.grafana_dashboard === '1');
    expect(all).toHaveLength(files.length);
    for (const cm of all) expect(cm.metadata).toMatchObject({ namespace: 'grafana', annotations: { grafana_folder: 'Go' } });
  });

  it('prometheusRule.grafanaUrl points the dashboard links at that Grafana and changes nothing else', () => {
    const source = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { annotations: Record<string, string> }[] }[] }).groups;
    const rendered = one(render(['--set', 'prometheusRule.grafanaUrl=https://grafana.example.org/']), 'PrometheusRule').spec.groups as typeof source;
    const links = rendered.flatMap((g) => g.rules.map((r) => r.annotations.dashboard!));
    expect(links).toHaveLength(source.flatMap((g) => g.rules).length);
    for (const l of links) expect(l).toMatch(/^https:\/\/grafana\.example\.org\/d\/pprof-exporter-/);
    expect(JSON.parse(JSON.stringify(rendered).replaceAll('https://grafana.example.org/', 'http://grafana.example.com/'))).toEqual(source);
  });

  it.each([
    [['--set', 'replicaCount=abc'], "- at '/replicaCount': got string, want integer"],
    [['--set', 'replicas=2'], "- at '': additional properties 'replicas' not allowed"],
    [['--set', 'scrapeConfig.optIn=always'], "- at '/scrapeConfig/optIn': value must be one of 'annotation', 'label'"],
    [['--set', 'config.modules.default.sources[0]=cpu'], "- at '/config/modules/default/sources/0': value must be one of 'goroutine', 'heap', 'expvar', 'goroutine_debug2', 'goroutineleak'"],
    [['--set', 'config.modules.default.timeout=10 seconds'], "- at '/config/modules/default/timeout': '10 seconds' does not match pattern"],
    [['--set', 'config.modules.default.http_config.bearer_token=x'], "- at '/config/modules/default/http_config': additional properties 'bearer_token' not allowed"],
    [['--set', 'webConfig.config.basic_auth_users.prometheus=hunter2'], "- at '/webConfig/config/basic_auth_users/prometheus': 'hunter2' does not match pattern"],
    [['--set', 'service.port=70000'], "- at '/service/port': maximum: got 70,000, want 65,535"],
  ])('values.schema.json refuses %j', (args, message) => {
    const t = helm('template', 'pprof-exporter', CHART, ...args);
    expect(t.stderr).toContain("values don't meet the specifications of the schema(s) in the following chart(s):\npprof-exporter:\n");
    expect(t.stderr).toContain(message);
    expect(t.status).toBe(1);
    const l = helm('lint', CHART, ...args);
    expect(l.stdout).toContain(`[ERROR] values.yaml: ${message}`);
    expect(l.status).toBe(1);
  });

  it('every rendered manifest validates with kubeconform against Kubernetes 1.25 and 1.37 and the Prometheus Operator CRDs', () => {
    const kubeconform = (manifests: string, version: string) => {
      const r = run(inject('kubeconform'), ['-strict', '-summary', '-output', 'json', '-kubernetes-version', version,
        ...inject('schemaLocations').flatMap((l) => ['-schema-location', l]), '-'], manifests);
      return { ...r, json: JSON.parse(r.stdout) as { resources: { kind: string; status: string; msg: string }[]; summary: { valid: number; invalid: number; errors: number; skipped: number } } };
    };
    for (const args of [[], ['-f', allValues]]) {
      const docs = render(args);
      for (const v of inject('k8sVersions')) {
        const out = kubeconform(docs.map((d) => stringify(d)).join('---\n'), v);
        expect(out.json.resources ?? []).toEqual([]);
        expect(out.json.summary).toEqual({ valid: docs.length, invalid: 0, errors: 0, skipped: 0 });
        expect(out.status).toBe(0);
      }
    }
    // The schemas are strict: a misspelt field in a Pod spec or a ScrapeConfig fails.
    const bad = render(['--set-json', 'extraVolumes=[{"name":"x","emptyDir":{},"readOnly":true}]', '--set-json', 'scrapeConfig.extraRelabelings=[{"sourceLabel":"x"}]']);
    const out = kubeconform(bad.map((d) => stringify(d)).join('---\n'), inject('k8sVersions')[0]!);
    expect(out.status).toBe(1);
    expect(out.json.resources.map((r) => [r.kind, r.status])).toEqual(expect.arrayContaining([['Deployment', 'statusInvalid'], ['ScrapeConfig', 'statusInvalid']]));
    expect(out.json.resources.map((r) => r.msg).join('\n')).toMatch(/additional properties 'readOnly' not allowed[\s\S]*additional properties 'sourceLabel' not allowed|additional properties 'sourceLabel' not allowed[\s\S]*additional properties 'readOnly' not allowed/);
  });
});

describe('the pod relabelling', () => {
  const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const snippet = /<!-- helm:scrape_config -->\n```yaml\n([\s\S]*?)```\n<!-- \/helm:scrape_config -->/.exec(README)?.[1];
  const job = (parse(snippet ?? '') as { scrape_configs: Record<string, any>[] }).scrape_configs[0]!;
  const snake = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]));

  it('the README\'s plain-Prometheus job has the chart\'s ScrapeConfig relabelling, and promtool accepts it', () => {
    const sc = one(render(), 'ScrapeConfig').spec;
    expect(job.relabel_configs).toEqual(sc.relabelings.map(snake));
    expect(job).toMatchObject({ metrics_path: sc.metricsPath, scrape_interval: sc.scrapeInterval, scrape_timeout: sc.scrapeTimeout });
    expect(job.kubernetes_sd_configs).toEqual([{ role: 'pod' }]);
    // Debian's Prometheus is built without kubernetes_sd: promtool checks the rest of the job.
    const { kubernetes_sd_configs: _, ...rest } = job;
    const file = join(tmp, 'prometheus-readme.yml');
    writeFileSync(file, stringify({ scrape_configs: [{ ...rest, file_sd_configs: [{ files: [join(tmp, 'pods.json')] }] }] }));
    const r = run(inject('promtool'), ['check', 'config', file]);
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.status).toBe(0);
    // Prometheus 3.16, built from source, has every service discovery: the job as written.
    const whole = join(tmp, 'prometheus-readme-k8s.yml');
    writeFileSync(whole, stringify({ scrape_configs: [job] }));
    const r3 = run(inject('promtool3'), ['check', 'config', whole]);
    expect(`${r3.stdout}${r3.stderr}`).toContain('SUCCESS');
    expect(r3.status).toBe(0);
  });

  // kubernetes_sd replaced by file_sd carrying the same __meta_kubernetes_* labels; the
  // exporter's address by a loopback server. Pod IPs are documentation ranges, never contacted.
  describe.each([['2.42', 'prometheus'], ['3.16', 'prometheus3']] as const)('in a real Prometheus %s', (version, bin) => {
    const probes: URLSearchParams[] = [];
    let exporter: TestServer;
    let prometheus: Proc;
    let promUrl: string;
    const pod = (name: string, ip: string, annotations: Record<string, string>, phase = 'Running', port = '8080') => ({
      targets: [`${ip.includes(':') ? `[${ip}]` : ip}:${port}`],
      labels: {
        __meta_kubernetes_namespace: 'shop', __meta_kubernetes_pod_name: name, __meta_kubernetes_pod_ip: ip, __meta_kubernetes_pod_phase: phase,
        ...Object.fromEntries(Object.entries(annotations).map(([k, v]) => [`__meta_kubernetes_pod_annotation_pprof_exporter_io_${k}`, v])),
      },
    });

    beforeAll(async () => {
      exporter = await startServer((req: IncomingMessage, res) => {
        const u = new URL(req.url ?? '/', 'http://x');
        if (u.pathname === '/probe') probes.push(u.searchParams);
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        res.end('pprof_goroutines{signature="0123456789abcdef",function="main.f",blocked_on="chan_send"} 3\n');
      });
      const dir = join(tmp, `prometheus-${version}`);
      mkdirSync(dir);
      writeFileSync(join(dir, 'pods.json'), JSON.stringify([
        pod('checkout-1', '192.0.2.10', { scrape: 'true', port: '6061', module: 'internal' }),
        pod('checkout-1', '192.0.2.10', { scrape: 'true', port: '6061', module: 'internal' }, 'Running', '9090'), // a second container port
        pod('cart-1', '2001:db8::5', { scrape: 'true', scheme: 'https' }),
        pod('web-1', '192.0.2.11', {}),
        pod('starting-1', '192.0.2.12', { scrape: 'true' }, 'Pending'),
      ]));
      const testJob = {
        ...job, scrape_interval: '1s', scrape_timeout: '900ms',
        kubernetes_sd_configs: undefined, file_sd_configs: [{ files: [join(dir, 'pods.json')] }],
        relabel_configs: job.relabel_configs.map((r: { target_label?: string }) =>
          r.target_label === '__address__' ? { ...r, replacement: exporter.url.replace('http://', '') } : r),
      };
      delete testJob.kubernetes_sd_configs;
      writeFileSync(join(dir, 'prometheus.yml'), stringify({ scrape_configs: [testJob] }));
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      prometheus = await startProc(inject(bin), [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`], `${promUrl}/-/ready`, join(dir, 'prometheus.log'));
    });
    afterAll(async () => {
      await prometheus?.stop();
      await exporter?.close();
    });

    it('probes each opted-in running pod once, through /probe?target=&module=, labelled target and instance', { timeout: 120_000 }, async () => {
      // Bounded, not timed: a loaded machine may take a while to get to the first scrapes.
      const deadline = Date.now() + 100_000;
      let series: { metric: Record<string, string> }[] = [];
      while (Date.now() < deadline) {
        const r = await (await fetch(`${promUrl}/api/v1/query?query=pprof_goroutines`)).json() as { data: { result: typeof series } };
        series = r.data.result;
        if (series.length >= 2) break;
        await new Promise((res) => setTimeout(res, 250));
      }
      const labels = series.map((s) => { const { __name__, job: j, signature, function: f, blocked_on, ...rest } = s.metric; return rest; })
        .sort((a, b) => a.pod!.localeCompare(b.pod!));
      expect(labels).toEqual([
        { instance: 'https://[2001:db8::5]:6060', target: 'https://[2001:db8::5]:6060', namespace: 'shop', pod: 'cart-1' },
        { instance: '192.0.2.10:6061', target: '192.0.2.10:6061', namespace: 'shop', pod: 'checkout-1' },
      ]);
      const asked = new Set(probes.map((p) => JSON.stringify([...p.entries()].sort())));
      expect([...asked].sort()).toEqual([
        JSON.stringify([['module', 'default'], ['target', 'https://[2001:db8::5]:6060']]),
        JSON.stringify([['module', 'internal'], ['target', '192.0.2.10:6061']]),
      ].sort());
      const targets = await (await fetch(`${promUrl}/api/v1/targets`)).json() as { data: { activeTargets: unknown[] } };
      expect(targets.data.activeTargets).toHaveLength(2);
    });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
  const values = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as { service: { port: number }; podSecurityContext: { runAsUser: number; runAsGroup: number } };
  const lines = dockerfile.split('\n').filter((l) => /^[A-Z]+ /.test(l));

  it('passes hadolint, which does flag a bad one', () => {
    const r = run(inject('hadolint'), ['Dockerfile'].map((f) => join(ROOT, f)));
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
    const badFile = join(tmp, 'Dockerfile.bad');
    writeFileSync(badFile, 'FROM node:latest\nRUN cd /app && npm install\nUSER root\n');
    const bad = run(inject('hadolint'), [badFile]);
    expect(bad.stdout).toMatch(/DL3007/);
    expect(bad.status).toBe(1);
  });

  // No container builder runs here (no Docker daemon, no base-image registry), so the
  // image's contract with the chart is checked on the file.
  it('is multi-stage and runs node dist/cli.js as the chart\'s non-root user on the chart\'s port', () => {
    expect(lines.filter((l) => l.startsWith('FROM ')).length).toBeGreaterThanOrEqual(2);
    expect(lines.filter((l) => l.startsWith('FROM ')).every((l) => /^FROM node:20[\w.-]*slim\b/.test(l))).toBe(true);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    const user = lines.filter((l) => l.startsWith('USER ')).at(-1);
    expect(user).toBe(`USER ${values.podSecurityContext.runAsUser}:${values.podSecurityContext.runAsGroup}`);
    expect(lines).toContain(`EXPOSE ${values.service.port}`);
    expect(lines.filter((l) => l.startsWith('ENTRYPOINT '))).toEqual([`ENTRYPOINT ["node", "${PKG.bin['pprof-exporter']}"]`]);
    // The image is tagged with the package version; the chart's default tag is appVersion.
    expect(chart.appVersion).toBe(PKG.version);
    expect(dockerfile).toContain(`ghcr.io/pprof-exporter/pprof-exporter:${PKG.version}`);
  });
});
