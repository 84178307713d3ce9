import { PassThrough } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger, wantsPrettyLogs } from './logger.js';

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
});
