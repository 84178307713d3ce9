/** Test helpers for kernel and module specs (imported by `*.spec.ts` files only). */
export { eventually } from './eventually.js';
export { envelopeOf, type SagaOutcome, STEP_TIMEOUT, sagaSpec } from './saga-spec.js';
export { startTestKernel, type TestKernel, type TestKernelOptions } from './test-kernel.js';
