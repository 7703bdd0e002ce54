/**
 * A CommonJS package's exports from a dynamic `import()`: Node gives its named exports and
 * `default`, the bundle the image runs (scripts/bundle.mjs) gives only `default`; `default`
 * is `module.exports` in both, so reading through it works either way.
 */
export const commonJs = <T extends object>(mod: T): T => (mod as { default?: T }).default ?? mod;
