/**
 * Generates docs/event-map.md: who publishes and who handles every message of the build.
 *
 *   npx tsx scripts/event-map.ts           (re)writes docs/event-map.md
 *   npx tsx scripts/event-map.ts --check   exits 1 when docs/event-map.md is out of date
 *
 * The map is read from a kernel started with every module of src/app.ts's catalogue (memory
 * transport, temporary data directory), not from the module definitions alone: the message types
 * a kernel registers (its own included) and the consumers it subscribes (the saga consumers
 * `<saga>-saga` too) are exactly those a running process has, under the names it gives them.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { moduleCatalogue } from '../src/app.js';
import type { AnyMessageDefinition, ModuleDefinition } from '../src/kernel/index.js';
import { stepTimeoutDefinition } from '../src/kernel/sagas/step-timeout.js';
import { startTestKernel } from '../src/kernel/testing/index.js';

export const EVENT_MAP_PATH = fileURLToPath(new URL('../docs/event-map.md', import.meta.url));

interface Consumer {
  readonly name: string;
  readonly module: string;
  readonly types: readonly string[];
}

interface MessageRow {
  readonly message: AnyMessageDefinition;
  /** Modules that stage it: the owner for an event, the modules declaring it in `sends` for a command. */
  readonly publishers: readonly string[];
  readonly consumers: readonly Consumer[];
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The message types and consumers of a kernel started with `modules`, as a running process has them. */
export async function readRunningSystem(
  modules: readonly ModuleDefinition[] = moduleCatalogue,
): Promise<{ messages: AnyMessageDefinition[]; consumers: Consumer[] }> {
  const test = await startTestKernel({ modules });
  try {
    return { messages: test.kernel.messageTypes.all(), consumers: test.kernel.consumers() };
  } finally {
    await test.dispose();
  }
}

/**
 * Events are staged by their owner only; a command by each module declaring it in `sends`, and a
 * saga's step timeout by the kernel's coordinator of the module owning the saga.
 */
function publishersOf(message: AnyMessageDefinition, modules: readonly ModuleDefinition[]): string[] {
  if (message.kind === 'event') return [message.owner];
  const sending = (m: ModuleDefinition) =>
    m.sends?.some((sent) => sent.type === message.type) ||
    m.sagas?.some((saga) => stepTimeoutDefinition(saga.name).type === message.type);
  return modules.filter(sending).map((m) => m.name);
}

function buildRows(
  messages: readonly AnyMessageDefinition[],
  consumers: readonly Consumer[],
  modules: readonly ModuleDefinition[],
): MessageRow[] {
  return [...messages]
    .sort((a, b) => byText(a.type, b.type))
    .map((message) => ({
      message,
      publishers: publishersOf(message, modules).sort(byText),
      consumers: consumers
        .filter((c) => c.types.includes(message.type))
        .sort((a, b) => byText(a.name, b.name)),
    }));
}

/** One edge per (publisher module, consumer module), labelled with the types it carries. */
function renderFlowchart(rows: readonly MessageRow[]): string[] {
  const edges = new Map<string, { from: string; to: string; types: Set<string> }>();
  for (const { message, publishers, consumers } of rows) {
    for (const from of publishers) {
      for (const { module: to } of consumers) {
        const edge = edges.get(`${from} ${to}`) ?? { from, to, types: new Set<string>() };
        edges.set(`${from} ${to}`, edge);
        edge.types.add(message.type);
      }
    }
  }
  const lines = [...edges.values()]
    .sort((a, b) => byText(a.from, b.from) || byText(a.to, b.to))
    .map(({ from, to, types }) => `  ${from} -->|"${[...types].sort(byText).join('<br/>')}"| ${to}`);
  return ['```mermaid', 'flowchart LR', ...lines, '```'];
}

function renderTable(rows: readonly MessageRow[]): string[] {
  const code = (text: string): string => `\`${text}\``;
  return [
    '| Type | Kind | Published by | Schema version | Handled by |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(({ message, publishers, consumers }) => {
      // A command no module declares in `sends` may still be staged by any module of its process.
      const publishedBy = publishers.length > 0 ? publishers.join(', ') : 'any (none declared in `sends`)';
      const handledBy = consumers.length > 0 ? consumers.map((c) => code(c.name)).join(', ') : '—';
      return `| ${code(message.type)} | ${message.kind} | ${publishedBy} | ${message.version} | ${handledBy} |`;
    }),
  ];
}

/** The content of docs/event-map.md for the modules given (default: every module of the build). */
export async function generateEventMap(
  modules: readonly ModuleDefinition[] = moduleCatalogue,
): Promise<string> {
  const { messages, consumers } = await readRunningSystem(modules);
  const rows = buildRows(messages, consumers, modules);
  return [
    '# Event map',
    '',
    '<!-- Generated by scripts/event-map.ts: do not edit. Regenerate with `npm run event-map`. -->',
    '',
    'Who publishes and who handles every message. An arrow goes from the module that stages a',
    'message to the module whose consumer handles it; commands are sent by the modules that declare',
    'them in `sends`, events by the module that owns them.',
    '',
    ...renderFlowchart(rows),
    '',
    ...renderTable(rows),
    '',
  ].join('\n');
}

function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, 'utf8') : undefined;
}

async function main(check: boolean): Promise<void> {
  const generated = await generateEventMap();
  if (!check) {
    writeFileSync(EVENT_MAP_PATH, generated);
    console.log(`wrote ${EVENT_MAP_PATH}`);
    return;
  }
  if (readIfExists(EVENT_MAP_PATH) !== generated) {
    console.error('docs/event-map.md is out of date: run `npm run event-map` and commit the result.');
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main(process.argv.includes('--check'));
}
