/** The local lockkeys stack for `npm run dev` and the end-to-end tests. */
export * from './credentials';
export * from './ports';
export * from './service';
export * from './stack';
export * from './temporal-cli';
export * from './postgres';
export * from './dev-server';
