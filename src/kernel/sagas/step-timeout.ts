import { type Static, Type } from 'typebox';
import { defineCommand, type MessageDefinition } from '../messaging/message-types.js';

const StepTimeoutData = Type.Object({
  saga: Type.String(),
  id: Type.String(),
  step: Type.String(),
  /** The deadline that came due: the timeout applies only while the instance still waits on it. */
  deadline: Type.Integer(),
  /** The partition key of the step's last request (as its reply's), or the instance id. */
  key: Type.String(),
});

export type StepTimeoutData = Static<typeof StepTimeoutData>;
export type StepTimeoutDefinition = MessageDefinition<typeof StepTimeoutData, string>;

/**
 * The command a due step deadline sends to the saga's own consumer, `<saga name>-step-timed-out`
 * (`orders.checkout-step-timed-out`), owned by the saga's module. Keyed like the step's request,
 * it queues behind the replies already waiting in that consumer's partition, so a reply that was
 * published in time wins over the timeout however long the consumer's backlog (coordinator.ts).
 */
export function stepTimeoutDefinition(sagaName: string): StepTimeoutDefinition {
  return defineCommand({
    type: `${sagaName}-step-timed-out`,
    schema: StepTimeoutData,
    partitionKey: (data) => data.key,
    description: `A step of the ${sagaName} saga got no reply in time (sent by the kernel to the saga's own consumer).`,
  });
}
