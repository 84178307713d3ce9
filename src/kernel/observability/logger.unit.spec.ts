import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runInContext } from '../messaging/context.js';
import { createLogger, wantsPrettyLogs } from './logger.js';
import { traceContextOf } from './tracing.js';

/** Everything written to `stream` so far. */
function collected(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return () => text;
}

describe('log output', () => {
  it.each([
    ['a terminal, development', 'development', true, true],
    ['a terminal, production', 'production', true, false],
    ['a pipe, development', 'development', false, false],
    ['a pipe, production', 'production', undefined, false],
  ])('on %s is pretty: %s', (_name, nodeEnv, isTTY, pretty) => {
    expect(wantsPrettyLogs(nodeEnv, { isTTY })).toBe(pretty);
  });

  it('is one JSON object per line when not pretty', () => {
    const stream = new PassThrough();
    const text = collected(stream);
    createLogger('info', { destination: stream }).info({ order: 7 }, 'order placed');
    expect(JSON.parse(text())).toMatchObject({ level: 30, msg: 'order placed', order: 7 });
  });

  it('is one readable line per entry when pretty', () => {
    const stream = new PassThrough();
    const text = collected(stream);
    createLogger('info', { pretty: true, destination: stream }).info({ order: 7 }, 'order placed');
    const lines = stripVTControlCharacters(text()).trimEnd().split('\n'); // colours follow the terminal
    expect(lines).toHaveLength(1);
    // the level and message first, the fields after them
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: order placed \{"order":7\}$/);
  });

  it('carries the correlation id of the work in progress, and its trace and span ids when traced', () => {
    const stream = new PassThrough();
    const text = collected(stream);
    const log = createLogger('info', { destination: stream });
    log.info('outside any work');
    runInContext({ correlationId: 'c-1', causationId: null }, () => log.info('untraced'));
    const trace = traceContextOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    runInContext({ correlationId: 'c-2', causationId: null, ...(trace ? { trace } : {}) }, () =>
      log.info('traced'),
    );
    const [outside, untraced, traced] = text()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(outside).not.toHaveProperty('correlationid');
    expect(untraced).toMatchObject({ correlationid: 'c-1' });
    expect(untraced).not.toHaveProperty('trace_id');
    expect(traced).toMatchObject({
      correlationid: 'c-2',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
    });
  });
});
