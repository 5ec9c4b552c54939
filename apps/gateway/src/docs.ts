import { dirname, join } from 'node:path';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import { NotFoundError } from './errors';

// The package's own folder; its index.js would load the 1.5 MB browser bundle into the gateway process.
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** Starts Swagger UI on `/openapi.json`. A file, not an inline script, so the page's CSP needs no `unsafe-inline` script. */
const DOCS_SCRIPT = `window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    // The default validator badge would load an image from swagger.io.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: 'BaseLayout',
  });
});
`;

/** Files served under `/docs/`: Swagger UI's own, shipped in the `swagger-ui-dist` package, and the start-up script. */
export const DOCS_ASSETS = {
  'swagger-ui.css': { file: join(SWAGGER_UI_DIR, 'swagger-ui.css') },
  'swagger-ui-bundle.js': { file: join(SWAGGER_UI_DIR, 'swagger-ui-bundle.js') },
  'favicon-32x32.png': { file: join(SWAGGER_UI_DIR, 'favicon-32x32.png') },
  'docs.js': { text: DOCS_SCRIPT, contentType: 'text/javascript; charset=utf-8' },
} as const;
/** Name of one of {@link DOCS_ASSETS}. */
export type DocsAssetName = keyof typeof DOCS_ASSETS;

/** The `/docs` page: Swagger UI rendering `/openapi.json`, every asset from this gateway (the network may be closed). */
export const DOCS_HTML = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>lockkeys gateway API</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/docs.js"></script>
  </body>
</html>
`;

/**
 * The CSP of `/docs` and its assets: helmet's default minus `upgrade-insecure-requests`, which would send the
 * page's own scripts to https:// on a gateway reached over plain HTTP, and with styles from this origin only.
 */
export const docsContentSecurityPolicy: RequestHandler = helmet.contentSecurityPolicy({
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    connectSrc: ["'self'"],
    fontSrc: ["'self'", 'data:'],
    formAction: ["'self'"],
    frameAncestors: ["'self'"],
    imgSrc: ["'self'", 'data:'],
    objectSrc: ["'none'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    // No 'unsafe-inline': Swagger UI sets styles through the DOM, which CSP does not govern.
    styleSrc: ["'self'"],
  },
});

/** `GET /docs`. */
export const docsPage: RequestHandler = (_req, res) => {
  res.type('html').send(DOCS_HTML);
};

/** `GET /docs/:asset`: only the files of {@link DOCS_ASSETS}; any other name is 404. */
export const docsAsset: RequestHandler = (req, res, next) => {
  const name = req.params.asset;
  if (typeof name !== 'string' || !Object.hasOwn(DOCS_ASSETS, name)) throw new NotFoundError();
  const asset: { file?: string; text?: string; contentType?: string } = DOCS_ASSETS[name as DocsAssetName];
  // Revalidated on each load (Last-Modified), so an upgraded swagger-ui-dist is picked up at once.
  res.setHeader('Cache-Control', 'no-cache');
  if (asset.text !== undefined) {
    res.type(asset.contentType ?? 'text/plain').send(asset.text);
    return;
  }
  // The path is ours, not the caller's; `allow` because pnpm keeps packages under node_modules/.pnpm.
  res.sendFile(asset.file ?? '', { cacheControl: false, dotfiles: 'allow' }, (err) => {
    if (err !== undefined) next(err);
  });
};
