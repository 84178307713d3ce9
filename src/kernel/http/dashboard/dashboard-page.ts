import type { HealthCheck } from '../../modules/kernel.js';
import { DASHBOARD_SCRIPT } from './assets.js';
import type { ConsumerRow } from './dashboard-view.js';
import type { DeploymentGroup, DeploymentSaga, DeploymentView, InstanceEntry } from './deployment.js';
import type { HistoryPoint } from './history.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

const figure = (value: number | undefined) => (value === undefined ? '?' : String(value));
const none = (what: string) => html`<p class="empty">${what}</p>`;
const at = (ms: number) => new Date(ms).toISOString();
/** Messages per second, two decimals (a consumer handling one message a minute shows 0.02). */
export const rate = (perSecond: number) => perSecond.toFixed(2);
/** Milliseconds, three significant digits; '–' without deliveries in the last minute. */
export const millis = (seconds: number | undefined) =>
  seconds === undefined ? '–' : `${Number((seconds * 1000).toPrecision(3))} ms`;
/** How an instance is named on the page: its URL, or "this process" when it has none. */
const instanceName = (entry: Pick<InstanceEntry, 'url'>) => entry.url || 'this process';

function summary(view: DeploymentView): SafeHtml {
  return html`<header>
  <div>
    <h1>modulith admin</h1>
    <ul class="facts">
      <li>transport <strong id="transport">${view.self.transport}</strong></li>
      <li>version ${view.self.version}</li>
    </ul>
  </div>
  <nav>
    <a href="/admin">Refresh</a>${view.self.transport === 'bullmq' ? html` · <a href="/admin/queues">Queues (bull-board)</a>` : ''} · <a href="/docs">OpenAPI</a> · <a href="/asyncapi.json">AsyncAPI</a>
    <button type="button" data-action="logout">Sign out</button>
  </nav>
</header>
<p id="status" role="status"></p>`;
}

function checksList(checks: Readonly<Record<string, HealthCheck>>) {
  return Object.entries(checks).map(
    ([name, check]) =>
      html`<li><span class="${check.status}">${check.status}</span> ${name}${check.detail ? ` (${check.detail})` : ''}</li>`,
  );
}

/** pass, fail, or unreachable: the instance's own readiness when it answered, else why it did not. */
function instanceState(entry: InstanceEntry): SafeHtml {
  if (!entry.snapshot) return html`<span class="fail">unreachable</span> <small>${entry.problem}</small>`;
  const failing = Object.values(entry.snapshot.health).some((check) => check.status === 'fail');
  const status = failing ? 'fail' : 'pass';
  return html`<span class="${status}">${status}</span>`;
}

function instancesSection(view: DeploymentView): SafeHtml {
  const rows = view.instances.map((entry) => {
    const record = entry.registered;
    return html`<tr class="instance" data-instance="${entry.id}">
  <td>${instanceName(entry)}${entry.self ? html` <span class="tag">this process</span>` : ''}</td>
  <td>${entry.modules.map((name) => html`<span class="tag">${name}</span>`)}</td>
  <td>${record ? `${record.host} pid ${record.pid}` : ''}${
    // each BullMQ instance shows its own consumers' queues (the session cookie goes to every port of a host)
    entry.snapshot?.transport === 'bullmq' && entry.snapshot.consumers.length > 0
      ? html`<br><a class="queues" href="${entry.url}/admin/queues">queues</a>`
      : ''
  }</td>
  <td class="health">${instanceState(entry)}
    ${entry.snapshot ? html`<details><summary>checks</summary><ul>${checksList(entry.snapshot.health)}</ul></details>` : ''}</td>
  <td class="n">${record ? `${Math.round(record.heartbeatAgeMs / 1000)} s ago` : ''}</td>
</tr>`;
  });
  const self = view.instances.find((entry) => entry.self);
  return html`<section id="instances">
  <h2>Instances (${view.instances.length})</h2>
  ${view.registryProblem ? html`<p class="fail">Only this process is shown: ${view.registryProblem}</p>` : ''}
  <table>
    <thead><tr><th>instance</th><th>modules</th><th>host</th><th>health</th><th class="n">heartbeat</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
  ${
    self?.snapshot
      ? html`<h3>Modules running here (${self.snapshot.modules.length})</h3>
  <p>${self.snapshot.modules.map((name) => html`<span class="pill">${name}</span>`)}</p>
  <ul class="facts" id="self-checks">${checksList(self.snapshot.health)}</ul>`
      : ''
  }
</section>`;
}

/** Running, or paused with what is down, since when and when it tries again. */
function consumerState({ paused }: ConsumerRow): SafeHtml {
  if (!paused) return html`<td class="state">running</td>`;
  const { dependency, since, resumesAt, error } = paused;
  return html`<td class="state warn" title="${error}">paused: ${dependency} is down since
  <time datetime="${at(since)}">${at(since)}</time>; tries again at <time datetime="${at(resumesAt)}">${at(resumesAt)}</time></td>`;
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 22;

/**
 * A sparkline of one series over the history's span (15 minutes) and the value now: an inline SVG
 * (no script, no image request), scaled to its own maximum, which its title gives.
 */
function sparkline(kind: string, points: readonly { at: number; value: number }[]): SafeHtml {
  const max = Math.max(0, ...points.map((p) => p.value));
  const first = points[0]?.at ?? 0;
  const span = Math.max(1, (points[points.length - 1]?.at ?? 0) - first);
  const coordinates = points
    .map((p) => {
      const x = points.length === 1 ? SPARK_WIDTH : ((p.at - first) / span) * SPARK_WIDTH;
      const y = SPARK_HEIGHT - 1 - (max === 0 ? 0 : (p.value / max) * (SPARK_HEIGHT - 2));
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
  const title = `${kind}, ${points.length} sample(s), max ${kind === 'lag' ? max : rate(max)}`;
  return html`<svg class="spark ${kind}" data-points="${points.length}" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" width="${SPARK_WIDTH}" height="${SPARK_HEIGHT}" role="img" aria-label="${title}"><title>${title}</title><polyline fill="none" stroke="currentColor" stroke-width="1.5" points="${coordinates}"/></svg>`;
}

function historyCell(row: ConsumerRow, generatedAt: string): SafeHtml {
  const now = {
    at: Date.parse(generatedAt),
    throughputPerSecond: row.throughputPerSecond,
    lag: row.stats?.lag ?? null,
  };
  const points: HistoryPoint[] = [...row.history, now];
  const lags = points.flatMap((p) => (p.lag === null ? [] : [{ at: p.at, value: p.lag }]));
  return html`<td class="history">${sparkline(
    'throughput',
    points.map((p) => ({ at: p.at, value: p.throughputPerSecond })),
  )}<br>${sparkline('lag', lags)}</td>`;
}

function consumerRow(row: ConsumerRow, generatedAt: string): SafeHtml {
  return html`<tr data-consumer="${row.name}"${row.paused ? ' data-paused' : ''}>
  <td>${row.name}</td><td>${row.module}</td><td>${row.types.join(', ')}</td>
  <td class="n depth">${figure(row.stats?.depth)}</td><td class="n lag">${figure(row.stats?.lag)}</td>
  <td class="n">${row.deadLetters}</td><td class="n held${row.held > 0 ? ' warn' : ''}">${row.held}</td>
  <td class="n throughput">${rate(row.throughputPerSecond)}</td><td class="n p99">${millis(row.p99Seconds)}</td>
  ${historyCell(row, generatedAt)}
  ${consumerState(row)}
</tr>`;
}

function consumersSection(view: DeploymentView): SafeHtml {
  const reporting = view.instances.filter((entry) => entry.snapshot && entry.snapshot.consumers.length > 0);
  const bodies = reporting.map((entry) => {
    const snapshot = entry.snapshot;
    if (!snapshot) return '';
    return html`<tbody data-instance="${entry.id}">
  <tr class="instance-heading"><th colspan="11">${instanceName(entry)}${
    snapshot.statsProblem
      ? html` <span class="fail">transport figures unavailable: ${snapshot.statsProblem}</span>`
      : ''
  }</th></tr>
  ${snapshot.consumers.map((row) => consumerRow(row, snapshot.generatedAt))}
</tbody>`;
  });
  return html`<section id="consumers">
  <h2>Queues and lag per consumer</h2>
  ${
    reporting.length === 0
      ? none('No consumer runs in the instances that answered.')
      : html`<table>
    <thead><tr><th>consumer</th><th>module</th><th>types</th><th class="n" title="messages waiting in the consumer's queue(s)">queue depth</th><th class="n" title="messages published to the consumer and not yet handled (waiting, in flight, retrying)">lag</th><th class="n">dead letters</th><th class="n" title="messages of a newer schema version than this build reads, waiting for an instance of a newer build">held</th><th class="n" title="messages handled per second by this instance over the last minute">msg/s (1 min)</th><th class="n" title="99th percentile of the time per delivery over the last minute">p99 (1 min)</th><th title="throughput and lag over the last 15 minutes, a sample every 15 s">last 15 min</th><th title="a consumer pauses, taking no message, while a dependency of its handler is down">state</th></tr></thead>
    ${bodies}
  </table>`
  }
</section>`;
}

function groupRow(group: DeploymentGroup): SafeHtml {
  const type = group.type ?? '(not an envelope)';
  return html`<tr class="dead-letter" data-consumer="${group.consumer}" data-type="${type}" data-error="${group.error}">
  <td>${group.consumer}<br><small>${group.queue} · ${group.instanceUrl || 'this process'}</small></td>
  <td>${type}</td>
  <td><pre>${group.error}</pre></td>
  <td class="n count">${group.count}</td>
  <td><time datetime="${group.lastFailedAt}">${group.lastFailedAt}</time>${
    group.count > 1
      ? html`<br><small>first <time datetime="${group.firstFailedAt}">${group.firstFailedAt}</time></small>`
      : ''
  }</td>
  <td><details data-key="${group.instance} ${group.consumer} ${type} ${group.error}"><summary>latest message</summary><pre>${group.sample}</pre></details></td>
  <td>
    <button type="button" data-action="replay" data-instance="${group.instance}" data-consumer="${group.consumer}" data-type="${group.type ?? ''}" data-error="${group.error}">Replay</button>
    <button type="button" data-action="delete" data-instance="${group.instance}" data-consumer="${group.consumer}" data-type="${group.type ?? ''}" data-error="${group.error}">Delete</button>
  </td>
</tr>`;
}

/**
 * The dead-letter filters (the page's script hides the groups they do not match). A refresh keeps
 * this form as it is, so what an admin typed stays.
 */
const FILTERS = html`<form id="filters" class="filters" role="search">
  <label>consumer <input name="consumer" list="consumer-options" autocomplete="off"></label>
  <label>type <input name="type" list="type-options" autocomplete="off"></label>
  <label>error contains <input name="error" autocomplete="off"></label>
</form>`;

const distinct = (values: readonly string[]) => [...new Set(values)].sort();

function deadLettersSection(view: DeploymentView): SafeHtml {
  const groups = view.deadLetterGroups;
  const options = (id: string, values: readonly string[]) =>
    html`<datalist id="${id}">${distinct(values).map((value) => html`<option value="${value}"></option>`)}</datalist>`;
  return html`<section id="dead-letters">
  <h2>Dead letters (${view.deadLetterTotal})</h2>
  ${FILTERS}
  ${
    groups.length === 0
      ? none('No dead letters.')
      : html`<p>Grouped by consumer, type and error, from every instance; replay or delete a whole group. ${options(
          'consumer-options',
          groups.map((g) => g.consumer),
        )}${options(
          'type-options',
          groups.map((g) => g.type ?? '(not an envelope)'),
        )}</p>
  <table>
    <thead><tr><th>consumer / queue · instance</th><th>type</th><th>error</th><th class="n">letters</th><th>failed at</th><th>message</th><th></th></tr></thead>
    <tbody>${groups.map(groupRow)}</tbody>
  </table>`
  }
</section>`;
}

function sagaRow(saga: DeploymentSaga): SafeHtml {
  const timeline = `/admin/sagas/${encodeURIComponent(saga.name)}/${encodeURIComponent(saga.id)}/timeline`;
  return html`<tr class="saga" data-saga="${saga.id}"><td>${saga.name}</td>
  <td>${saga.timeline ? html`<a href="${timeline}">${saga.id}</a>` : saga.id}</td>
  <td>${saga.status}</td><td>${saga.step}</td><td class="correlation"><code>${saga.correlationId}</code></td>
  <td>${saga.deadline ?? ''}</td><td><time datetime="${saga.updatedAt}">${saga.updatedAt}</time></td></tr>`;
}

function sagasSection(view: DeploymentView): SafeHtml {
  const counts = Object.entries(view.sagaCounts).sort(([a], [b]) => a.localeCompare(b));
  return html`<section id="sagas">
  <h2>Sagas</h2>
  <p>${counts.length === 0 ? 'No saga instances.' : counts.map(([status, n]) => html`<span class="pill" data-status="${status}">${status}: ${n}</span>`)}</p>
  ${
    view.sagas.length === 0
      ? ''
      : html`<table>
    <thead><tr><th>saga</th><th>id (timeline)</th><th>status</th><th>step</th><th>correlation id</th><th>deadline</th><th>updated</th></tr></thead>
    <tbody>${view.sagas.map(sagaRow)}</tbody>
  </table>`
  }
</section>`;
}

function outboxSection(view: DeploymentView): SafeHtml {
  const bodies = view.instances.map((entry) =>
    entry.snapshot
      ? html`<tbody data-instance="${entry.id}"><tr class="instance-heading"><th colspan="4">${instanceName(entry)}</th></tr>
  ${entry.snapshot.outbox.map(
    (
      module,
    ) => html`<tr data-module="${module.module}"><td>${module.module}</td><td class="n pending">${module.pending}</td>
  <td class="n">${Math.round(module.oldestPendingAgeMs)} ms</td><td class="n published">${module.published}</td></tr>`,
  )}</tbody>`
      : '',
  );
  return html`<section id="outbox">
  <h2>Outbox per module</h2>
  <table>
    <thead><tr><th>module</th><th class="n">pending</th><th class="n">oldest pending</th><th class="n">published</th></tr></thead>
    ${bodies}
  </table>
</section>`;
}

export function renderDashboard(view: DeploymentView, nonce: string, refreshSeconds: number): string {
  const body = html`${summary(view)}
<main id="live" data-refresh-seconds="${refreshSeconds}">
<p class="as-of">as of <time id="generated-at" datetime="${view.generatedAt}">${view.generatedAt}</time>, refreshed every ${refreshSeconds} s</p>
${instancesSection(view)}
${consumersSection(view)}
${deadLettersSection(view)}
${sagasSection(view)}
${outboxSection(view)}
</main>`;
  return page({ title: 'modulith admin', nonce, body, script: DASHBOARD_SCRIPT });
}

/** One entry of a timeline (CloudEvents attribute names, as the module's timeline route answers). */
export interface TimelineEntry {
  readonly id: string;
  readonly type: string;
  readonly source: string;
  readonly time: string;
  readonly correlationid: string;
  readonly causationid?: string | null;
}

/** A saga instance's subject's timeline (for example an order's), fetched from an instance of its module. */
export function renderTimeline(
  options: { saga: string; id: string; entries: readonly TimelineEntry[] | undefined; problem?: string },
  nonce: string,
): string {
  const { saga, id, entries, problem } = options;
  const correlations = distinct((entries ?? []).map((entry) => entry.correlationid));
  const rows = (entries ?? []).map(
    (
      entry,
    ) => html`<tr class="timeline-entry"><td><time datetime="${entry.time}">${entry.time}</time></td><td>${entry.type}</td><td>${entry.source}</td>
  <td><code>${entry.id}</code></td><td><code>${entry.causationid ?? ''}</code></td></tr>`,
  );
  const body = html`<header><div><h1>${saga} ${id}: timeline</h1>
  <ul class="facts"><li>correlation id <code id="correlation">${correlations.join(', ')}</code></li></ul></div>
  <nav><a href="/admin">Back to the dashboard</a></nav></header>
  ${problem ? html`<p class="fail">${problem}</p>` : ''}
  <table><thead><tr><th>time</th><th>type</th><th>source</th><th>id</th><th>caused by</th></tr></thead><tbody>${rows}</tbody></table>`;
  return page({ title: `${saga} ${id}`, nonce, body, script: "'use strict';" });
}
