import { andThen } from '../../persistence/awaitable.js';
import type { DeliveryOutcome } from '../transport.js';
import { type Delivery, DUPLICATE, type Middleware } from './pipeline.js';
import type { ConsumerScope } from './scope.js';

/**
 * Settles, without running the steps after it, a delivery this consumer already settled (handled,
 * or dead-lettered after decoding): a redelivery changes nothing. A cheap read before the handler
 * runs; the handler's transaction checks again (handle.ts), as a copy may be in flight meanwhile.
 * A delivery the transport knows unsettled (`Delivery.unsettled`) needs no read.
 */
export function skipDuplicates(scope: Pick<ConsumerScope, 'name' | 'database' | 'inbox'>): Middleware {
  const { name, database, inbox } = scope;
  const settleDuplicate = async (delivery: Delivery): Promise<DeliveryOutcome> => {
    const { settle } = delivery;
    if (settle) await database.transaction(settle);
    return DUPLICATE;
  };
  // Not an async function: returning next's promise from one costs two promises more per delivery.
  return (next) => (delivery) => {
    if (delivery.unsettled) return next(delivery);
    return Promise.resolve(
      andThen(inbox.has(name, delivery.envelope.id), (settled) =>
        settled ? settleDuplicate(delivery) : next(delivery),
      ),
    );
  };
}
