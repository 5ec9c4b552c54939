/** Activities of lockkeys and the lock-backend client they use. */
export * from './activities';
export * from './lock-backend';
export * from './webhooks';
