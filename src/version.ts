import pkg from '../package.json' with { type: 'json' }

/** The version of this kith build, from package.json. */
export const VERSION: string = pkg.version
