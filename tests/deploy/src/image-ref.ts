/** An image reference split into repository, tag and digest (`registry:5000/name:tag@sha256:…`). */
export interface ImageRef {
  repository: string;
  tag?: string;
  digest?: string;
}

/** Splits `reference`; a `:` before the last `/` belongs to a registry port, not a tag. */
export function parseImageRef(reference: string): ImageRef {
  const [nameAndTag = '', digest] = reference.split('@', 2);
  const lastSlash = nameAndTag.lastIndexOf('/');
  const colon = nameAndTag.indexOf(':', lastSlash + 1);
  const repository = colon === -1 ? nameAndTag : nameAndTag.slice(0, colon);
  const tag = colon === -1 ? undefined : nameAndTag.slice(colon + 1);
  return { repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

// A tag names a release when it carries at least major.minor: `16` or `20-slim` move to every new minor.
const RELEASE_TAG = /(^|[^0-9])\d+\.\d+/;

/**
 * Why `reference` does not pin one release, or undefined when it does: a digest pins; otherwise the tag
 * must exist, must not be `latest`, must carry a `major.minor` version and must not be left to a variable.
 */
export function unpinnedReason(reference: string): string | undefined {
  if (reference.includes('$')) return `${reference} is left to a variable, so no file says which image runs`;
  const { tag, digest } = parseImageRef(reference);
  if (digest !== undefined)
    return /^sha256:[0-9a-f]{64}$/.test(digest) ? undefined : `${reference} has a malformed digest`;
  if (tag === undefined || tag === '') return `${reference} has no tag (means :latest)`;
  if (tag === 'latest') return `${reference} uses the moving tag latest`;
  if (!RELEASE_TAG.test(tag))
    return `${reference} has tag ${tag}, which moves with every new release (pin major.minor at least)`;
  return undefined;
}
