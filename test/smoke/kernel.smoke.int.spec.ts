import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { defineEvent, defineModule, on } from '../../src/kernel/index.js';
import { eventually, startTestKernel } from '../../src/kernel/testing/index.js';

const happened = defineEvent({
  type: 'source.thing-happened',
  schema: Type.Object({ key: Type.String(), n: Type.Integer() }),
  partitionKey: (d) => d.key,
});

describe('smoke', () => {
  it('delivers a staged event to a consumer in another module', async () => {
    const seen: number[] = [];
    const tk = await startTestKernel({
      modules: [
        defineModule({ name: 'source', messages: [happened] }),
        defineModule({
          name: 'sink',
          subscriptions: [
            {
              consumer: 'sink.things',

              handlers: [on([happened], (m) => void seen.push((m.data as { n: number }).n))],
            },
          ],
        }),
      ],
    });
    await tk
      .context('source')
      .transact((tx) => tx.stage(happened({ key: 'a', n: 1 }), happened({ key: 'a', n: 2 })));
    await eventually(() => expect(seen).toEqual([1, 2]));
    await tk.dispose();
  });
});
