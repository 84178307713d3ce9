import type { DeadLetter } from '../../messaging/dead-letters.js';
import { DASHBOARD_SCRIPT } from './assets.js';
import type { ConsumerRow, DashboardView } from './dashboard-view.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';

/** An envelope shown in full would drown the table; the JSON route has all of it. */
const SHOWN_EVENT_CHARS = 2000;

const figure = (value: number | undefined) => (value === undefined ? '?' : String(value));
const none = (what: string) => html`<p class="empty">${what}</p>`;

function summary(view: DashboardView): SafeHtml {
  return html`<header>
  <div>
    <h1>modulith admin</h1>
    <ul class="facts">
      <li>transport <strong id="transport">${view.transport}</strong></li>
      <li>version ${view.version}</li>
      <li>as of <time datetime="${view.generatedAt}">${view.generatedAt}</time></li>
    </ul>
  </div>
  <nav>
    <a href="/admin">Refresh</a> · <a href="/docs">OpenAPI</a> · <a href="/asyncapi.json">AsyncAPI</a>
    <button type="button" data-action="logout">Sign out</button>
  </nav>
</header>
<p id="status" role="status"></p>`;
}

function modulesSection(view: DashboardView): SafeHtml {
  const checks = Object.entries(view.health).map(
    ([name, check]) =>
      html`<li><span class="${check.status}">${check.status}</span> ${name}${check.detail ? ` (${check.detail})` : ''}</li>`,
  );
  return html`<section id="modules">
  <h2>Modules running here (${view.modules.length})</h2>
  <p>${view.modules.map((name) => html`<span class="pill">${name}</span>`)}</p>
  <ul class="facts">${checks}</ul>
</section>`;
}

/** Running, or paused with what is down, since when and when it tries again. */
function consumerState({ paused }: ConsumerRow): SafeHtml {
  if (!paused) return html`<td class="state">running</td>`;
  const { dependency, since, resumesAt, error } = paused;
  const at = (ms: number) => new Date(ms).toISOString();
  return html`<td class="state warn" title="${error}">paused: ${dependency} is down since
  <time datetime="${at(since)}">${at(since)}</time>; tries again at <time datetime="${at(resumesAt)}">${at(resumesAt)}</time></td>`;
}

function consumerRow(row: ConsumerRow): SafeHtml {
  return html`<tr data-consumer="${row.name}"${row.paused ? ' data-paused' : ''}>
  <td>${row.name}</td><td>${row.module}</td><td>${row.types.join(', ')}</td>
  <td class="n depth">${figure(row.stats?.depth)}</td><td class="n lag">${figure(row.stats?.lag)}</td>
  <td class="n">${row.deadLetters}</td><td class="n held${row.held > 0 ? ' warn' : ''}">${row.held}</td>
  ${consumerState(row)}
</tr>`;
}

function consumersSection(view: DashboardView): SafeHtml {
  return html`<section id="consumers">
  <h2>Queues and lag per consumer</h2>
  ${view.statsProblem ? html`<p class="fail">Transport figures unavailable: ${view.statsProblem}</p>` : ''}
  ${
    view.consumers.length === 0
      ? none('No consumer runs in this process.')
      : html`<table>
    <thead><tr><th>consumer</th><th>module</th><th>types</th><th class="n">queue depth</th><th class="n">lag</th><th class="n">dead letters</th><th class="n" title="messages of a newer schema version than this build reads, waiting for an instance of a newer build">held</th><th title="a consumer pauses, taking no message, while a dependency of its handler is down">state</th></tr></thead>
    <tbody>${view.consumers.map(consumerRow)}</tbody>
  </table>`
  }
</section>`;
}

function eventText(letter: DeadLetter): { type: string; text: string } {
  const event = letter.event;
  const text = typeof event === 'string' ? event : JSON.stringify(event, null, 2);
  const type = typeof event === 'string' ? '(not an envelope)' : (event as { type?: unknown }).type;
  const shown = text.length > SHOWN_EVENT_CHARS ? `${text.slice(0, SHOWN_EVENT_CHARS)} …` : text;
  return { type: typeof type === 'string' ? type : '(no type)', text: shown };
}

function deadLetterRow(letter: DeadLetter): SafeHtml {
  const { type, text } = eventText(letter);
  return html`<tr class="dead-letter" data-id="${letter.id}">
  <td>${letter.consumer}<br><small>${letter.queue}</small></td>
  <td>${type}</td>
  <td><pre>${letter.error}</pre></td>
  <td class="n">${letter.attempts}</td>
  <td><time datetime="${letter.failedAt}">${letter.failedAt}</time></td>
  <td><details><summary>envelope</summary><pre>${text}</pre></details></td>
  <td>
    <button type="button" data-action="replay" data-id="${letter.id}">Replay</button>
    <button type="button" data-action="delete" data-id="${letter.id}">Delete</button>
  </td>
</tr>`;
}

function deadLettersSection(view: DashboardView): SafeHtml {
  const shown = view.deadLetters.length;
  return html`<section id="dead-letters">
  <h2>Dead letters (${view.deadLetterTotal})</h2>
  ${
    shown === 0
      ? none('No dead letters.')
      : html`<p>${shown < view.deadLetterTotal ? `The newest ${shown} of ${view.deadLetterTotal}. ` : ''}
    <button type="button" data-action="replay-all">Replay all</button></p>
  <table>
    <thead><tr><th>consumer / queue</th><th>type</th><th>error</th><th class="n">attempts</th><th>failed at</th><th>message</th><th></th></tr></thead>
    <tbody>${view.deadLetters.map(deadLetterRow)}</tbody>
  </table>`
  }
</section>`;
}

function sagasSection(view: DashboardView): SafeHtml {
  const counts = Object.entries(view.sagaCounts).sort(([a], [b]) => a.localeCompare(b));
  const rows = view.recentSagas.map(
    (saga) => html`<tr><td>${saga.name}</td><td>${saga.id}</td><td>${saga.status}</td><td>${saga.step}</td>
  <td>${saga.deadline ?? ''}</td><td><time datetime="${saga.updatedAt}">${saga.updatedAt}</time></td></tr>`,
  );
  return html`<section id="sagas">
  <h2>Sagas</h2>
  <p>${counts.length === 0 ? 'No saga instances.' : counts.map(([status, n]) => html`<span class="pill" data-status="${status}">${status}: ${n}</span>`)}</p>
  ${
    rows.length === 0
      ? ''
      : html`<table>
    <thead><tr><th>saga</th><th>id</th><th>status</th><th>step</th><th>deadline</th><th>updated</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>`
  }
</section>`;
}

function outboxSection(view: DashboardView): SafeHtml {
  const rows = view.outbox.map(
    (
      module,
    ) => html`<tr data-module="${module.module}"><td>${module.module}</td><td class="n pending">${module.pending}</td>
  <td class="n">${Math.round(module.oldestPendingAgeMs)} ms</td><td class="n published">${module.published}</td></tr>`,
  );
  return html`<section id="outbox">
  <h2>Outbox per module</h2>
  <table>
    <thead><tr><th>module</th><th class="n">pending</th><th class="n">oldest pending</th><th class="n">published</th></tr></thead>
    <tbody>${rows}</tbody>
  </table>
</section>`;
}

export function renderDashboard(view: DashboardView, nonce: string): string {
  const body = html`${summary(view)}
${modulesSection(view)}
${consumersSection(view)}
${deadLettersSection(view)}
${sagasSection(view)}
${outboxSection(view)}`;
  return page({ title: 'modulith admin', nonce, body, script: DASHBOARD_SCRIPT });
}
